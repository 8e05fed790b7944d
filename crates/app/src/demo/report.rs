//! What the demo tells the person who started it: how long each phase took, how many records
//! went through, and which accounts to sign in with. The accounts are also kept in
//! `demo.json` in the data directory, which marks a finished demo (a later `eportal demo`
//! reuses it) — the password is never written there.

use super::pipeline::{ADMIN, REGISTRAR};
use super::university::University;
use crate::services::Services;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::Duration;

pub const MARKER: &str = "demo.json";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Account {
    pub kind: String,
    pub username: String,
    pub about: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Summary {
    pub institution: String,
    pub students: usize,
    pub courses: usize,
    pub accounts: Vec<Account>,
}

/// A phase's name, duration and the records it handled.
pub struct Phase {
    pub name: &'static str,
    pub took: Duration,
    pub records: u64,
    pub unit: &'static str,
}

pub fn print_phases(phases: &[Phase], total: Duration) {
    println!("phases:");
    for p in phases {
        let secs = p.took.as_secs_f64();
        let rate = if secs > 0.0 {
            p.records as f64 / secs
        } else {
            0.0
        };
        println!(
            "  {:<10} {:>7.2} s  {:>9} {:<9} {:>10.0} {}/s",
            p.name, secs, p.records, p.unit, rate, p.unit
        );
    }
    println!("  {:<10} {:>7.2} s", "total", total.as_secs_f64());
}

/// The accounts worth trying: admin, senate, an HOD, a dean, a lecturer, and students from
/// different departments and levels with their published GPA.
pub async fn accounts(services: &Services, u: &University) -> Vec<Account> {
    let mut out = vec![
        Account {
            kind: "admin".into(),
            username: ADMIN.into(),
            about: "registry administrator".into(),
        },
        Account {
            kind: "senate".into(),
            username: REGISTRAR.into(),
            about: "approves and publishes every result".into(),
        },
    ];
    let dept_name = |code: &str| {
        u.departments
            .iter()
            .find(|d| d.code == code)
            .map(|d| d.name.clone())
            .unwrap_or_default()
    };
    if let Some(d) = u.departments.first() {
        let hod = &u.hod[&d.code];
        out.push(Account {
            kind: "hod".into(),
            username: hod.clone(),
            about: format!("HOD, {}", d.name),
        });
        if let Some(dean) = u.dean.get(&d.faculty_code) {
            let faculty = u
                .faculties
                .iter()
                .find(|f| f.code == d.faculty_code)
                .map(|f| f.name.as_str())
                .unwrap_or_default();
            out.push(Account {
                kind: "dean".into(),
                username: dean.clone(),
                about: format!("dean, {faculty}"),
            });
        }
        if let Some(s) = u
            .staff
            .iter()
            .find(|s| s.roles.len() == 1 && s.department_code == d.code)
        {
            let taught: Vec<String> = u
                .lecturer
                .iter()
                .filter(|(_, id)| **id == s.staff_id)
                .map(|(c, _)| c.to_string())
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .take(4)
                .collect();
            out.push(Account {
                kind: "lecturer".into(),
                username: s.staff_id.clone(),
                about: format!(
                    "lecturer, {} ({})",
                    dept_name(&s.department_code),
                    taught.join(", ")
                ),
            });
        }
    }
    // Students from spread-out cohorts, shown only if they really have published results.
    let n = u.students.len();
    for k in [0, n / 3, 2 * n / 3, n.saturating_sub(1)] {
        let Some(s) = u.students.get(k) else { continue };
        if out.iter().any(|a| a.username == s.matric_no.as_str()) {
            continue;
        }
        match services.load_results(&s.matric_no).await {
            Ok(r) if !r.semesters.is_empty() => out.push(Account {
                kind: "student".into(),
                username: s.matric_no.to_string(),
                about: format!(
                    "{} {}, {} level {}, CGPA {}",
                    s.first_name,
                    s.surname,
                    dept_name(u.department_of(s)),
                    s.level,
                    crate::services::results::gpa_words(r.cgpa)
                ),
            }),
            _ => {}
        }
    }
    out
}

pub fn print_accounts(summary: &Summary, password: Option<&str>) {
    match password {
        Some(p) => println!(
            "accounts (every demo account has the password '{p}'; a demo shortcut, see docs/import.md):"
        ),
        None => println!(
            "accounts (the password given when this demo was built; 'demo1234' unless --password was used):"
        ),
    }
    for a in &summary.accounts {
        println!("  {:<9} {:<16} {}", a.kind, a.username, a.about);
    }
}

pub fn save(dir: &Path, summary: &Summary) -> anyhow::Result<()> {
    let json = serde_json::to_vec_pretty(summary)?;
    std::fs::write(dir.join(MARKER), json)?;
    Ok(())
}

pub fn load(dir: &Path) -> anyhow::Result<Option<Summary>> {
    let path = dir.join(MARKER);
    match std::fs::read(&path) {
        Ok(b) => Ok(Some(serde_json::from_slice(&b).map_err(|e| {
            anyhow::anyhow!(
                "{} is damaged ({e}); run eportal demo --reset",
                path.display()
            )
        })?)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(anyhow::anyhow!("cannot read {}: {e}", path.display())),
    }
}
