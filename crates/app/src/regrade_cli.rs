//! `eportal regrade`: change a grading policy and follow the regrade that switches to it,
//! follow the latest regrade, or (`--dry-run`) say what a change would do before anything
//! changes. The regrade itself is run by the workers (`eportal serve`), any number of them.

use crate::cli::{build, Failure};
use crate::config::Config;
use crate::services::regrade::DryRun;
use crate::services::Services;
use eportal_core::gpa::Gpa;
use eportal_core::{GradingPolicy, PolicyScope};
use eportal_ports::{Regrade, RegradeStatus};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

#[derive(Debug, clap::Args)]
pub struct RegradeArgs {
    /// The policy file (TOML or JSON, as `import policy`): set it for --scope and regrade.
    /// Without it, follow the latest regrade.
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Whom the policy is for: `default` (the institution), `cohort:2025/2026` (students
    /// admitted from that session on) or `results:2025/2026` (results from that session on).
    #[arg(long, value_name = "SCOPE", default_value = "default", value_parser = PolicyScope::parse)]
    pub scope: PolicyScope,
    /// Report how many students' GPAs and classes of degree would change, with examples;
    /// change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Start the regrade and return without following it.
    #[arg(long)]
    pub no_wait: bool,
}

pub async fn run(config: Config, args: RegradeArgs) -> Result<ExitCode, Failure> {
    config.validate().map_err(Failure::Config)?;
    let policy = match &args.policy {
        Some(path) => Some(read_policy(path).map_err(Failure::Config)?),
        None if args.dry_run => {
            return Err(Failure::Config(anyhow::anyhow!(
                "--dry-run needs the policy to try: --policy FILE [--scope SCOPE]"
            )))
        }
        None => None,
    };
    let app = build(config).await?;
    let services = &app.services;
    let regrade = match policy {
        Some(policy) if args.dry_run => {
            let book = services
                .proposed_book(args.scope, policy)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let report = services
                .dry_run(&book, 10)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            print!("{}", dry_run_words(&report, args.scope));
            return Ok(ExitCode::SUCCESS);
        }
        Some(policy) => {
            let book = services
                .proposed_book(args.scope, policy)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let r = services
                .start_regrade(&book, args.scope, "command line")
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!(
                "regrade {}: policy version {} → {} ({}), {} map and {} reduce tasks",
                r.id,
                r.from_version,
                r.to_version,
                args.scope.words(),
                r.parts.map,
                r.parts.reduce
            );
            r
        }
        None => match services
            .regrades(1)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .pop()
        {
            Some(r) => r,
            None => {
                println!("no regrade has run yet");
                return Ok(ExitCode::SUCCESS);
            }
        },
    };
    if args.no_wait && !regrade.status.is_final() {
        println!("the workers (eportal serve) run it; follow it with: eportal regrade");
        return Ok(ExitCode::SUCCESS);
    }
    follow(services, regrade).await
}

fn read_policy(path: &PathBuf) -> anyhow::Result<GradingPolicy> {
    let bytes =
        std::fs::read(path).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
    crate::services::import::settings::read_policy(&bytes)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// Prints a progress bar until the regrade is final.
async fn follow(services: &Services, mut r: Regrade) -> Result<ExitCode, Failure> {
    let started = Instant::now();
    let first_done = r.tasks_done();
    let mut waited_for_workers = false;
    loop {
        let line = progress_line(&r, started.elapsed(), first_done);
        print!("\r{line}\x1b[K");
        let _ = std::io::stdout().flush();
        if r.status.is_final() {
            println!();
            return Ok(match r.status {
                RegradeStatus::Done => {
                    println!(
                        "regrade {} done: policy version {} is active ({} records graded, {} changed, {} students)",
                        r.id, r.to_version, r.records, r.changed, r.students
                    );
                    ExitCode::SUCCESS
                }
                _ => {
                    println!(
                        "regrade {} failed: {}; policy version {} stays active",
                        r.id,
                        r.message.as_deref().unwrap_or("no reason recorded"),
                        r.from_version
                    );
                    ExitCode::from(1)
                }
            });
        }
        if !waited_for_workers
            && started.elapsed() > Duration::from_secs(10)
            && r.tasks_done() == first_done
        {
            println!("\nno task has finished for 10 s: are workers running (eportal serve)?");
            waited_for_workers = true;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        r = services
            .regrade_status(r.id)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
}

/// `[#####.....] 12/33 tasks  mapping  120000 records  ETA 0:42`; the ETA is the time so
/// far per task finished while watching, times the tasks left.
pub fn progress_line(r: &Regrade, elapsed: Duration, done_at_start: u32) -> String {
    const WIDTH: u32 = 30;
    let (done, total) = (r.tasks_done(), r.tasks_total());
    let filled = (done * WIDTH / total.max(1)) as usize;
    let bar = format!(
        "{}{}",
        "#".repeat(filled),
        ".".repeat(WIDTH as usize - filled)
    );
    let seen = done.saturating_sub(done_at_start);
    let eta = if r.status.is_final() {
        "".to_string()
    } else if seen == 0 {
        "  ETA …".to_string()
    } else {
        let per = elapsed.as_secs_f64() / f64::from(seen);
        let left = (per * f64::from(total - done)).round() as u64;
        format!("  ETA {}:{:02}", left / 60, left % 60)
    };
    format!(
        "[{bar}] {done}/{total} tasks  {}  {} records{eta}",
        r.status.as_str(),
        r.records
    )
}

fn gpa(g: Option<Gpa>) -> String {
    g.map_or_else(|| "none".into(), |g| g.to_string())
}

pub fn dry_run_words(d: &DryRun, scope: PolicyScope) -> String {
    let mut out = format!(
        "dry run: the new policy for {}; nothing was changed\n\
         {} students, {} records: {} records would change grade or points\n\
         {} students' GPAs would change; {} students' classes of degree would change\n",
        scope.words(),
        d.students,
        d.records,
        d.records_changed,
        d.gpa_changed,
        d.class_changed
    );
    if !d.examples.is_empty() {
        out.push_str("for example:\n");
    }
    for e in &d.examples {
        out.push_str(&format!(
            "  {}: CGPA {} → {}, class {} → {}\n",
            e.matric_no,
            gpa(e.cgpa_before),
            gpa(e.cgpa_after),
            e.class_before.as_deref().unwrap_or("none"),
            e.class_after.as_deref().unwrap_or("none")
        ));
    }
    out
}
