//! Running the demo university through the real system: the directory written through the
//! ports, every score sheet uploaded through the same path a lecturer's browser uses
//! ([`Services::upload_sheet`], as the allocated lecturer), processed by the application's
//! own workers, then approved and published through [`Services::course_action`] as the right
//! HOD, dean and senate accounts. Nothing here writes a score or a workflow state directly.

use super::sheets;
use super::university::University;
use crate::services::sheets::Upload;
use crate::services::{Principal, Services};
use anyhow::Context;
use eportal_core::model::{CourseTerm, UserAccount};
use eportal_core::workflow::Action;
use eportal_core::{GradingPolicy, Role};
use eportal_ports::SheetMode;
use futures_util::stream::{self, StreamExt, TryStreamExt};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// The registry administrator's and the senate account's usernames.
pub const ADMIN: &str = "admin";
pub const REGISTRAR: &str = "REGISTRAR";

const BATCH: usize = 2000;
/// Uploads and workflow actions in flight at once (the store serialises writes anyway).
const PARALLEL: usize = 8;

/// Writes the university and every account (all sharing one password hash); returns the
/// number of records written.
pub async fn seed(services: &Services, u: &University, phc: &str) -> anyhow::Result<u64> {
    let store = &services.ports.store;
    store
        .put_institution(&u.institution, &GradingPolicy::default())
        .await?;
    store.upsert_faculties(&u.faculties).await?;
    store.upsert_departments(&u.departments).await?;
    store.upsert_programmes(&u.programmes).await?;
    store.upsert_staff(&u.staff).await?;
    for c in u.courses.chunks(BATCH) {
        store.upsert_courses(c).await?;
    }
    for c in u.allocations.chunks(BATCH) {
        store.upsert_allocations(c).await?;
    }
    for c in u.students.chunks(BATCH) {
        store.upsert_students(c).await?;
    }
    for c in u.registrations.chunks(BATCH) {
        store.upsert_registrations(c).await?;
    }
    let account = |username: &str, name: &str, roles: Vec<Role>| UserAccount {
        username: username.to_string(),
        password_hash: phc.to_string(),
        display_name: name.to_string(),
        roles,
    };
    let mut users = vec![
        account(ADMIN, "Registry administrator", vec![Role::Admin]),
        account(REGISTRAR, "The Registrar (for Senate)", vec![Role::Senate]),
    ];
    users.extend(
        u.staff
            .iter()
            .map(|s| account(&s.staff_id, &s.name, s.roles.clone())),
    );
    users.extend(u.students.iter().map(|s| {
        account(
            s.matric_no.as_str(),
            &format!("{} {}", s.first_name, s.surname),
            vec![Role::Student],
        )
    }));
    for c in users.chunks(BATCH) {
        store.upsert_users(c).await?;
    }
    Ok((1
        + u.faculties.len()
        + u.departments.len()
        + u.programmes.len()
        + u.staff.len()
        + u.courses.len()
        + u.allocations.len()
        + u.students.len()
        + u.registrations.len()
        + users.len()) as u64)
}

fn principal(u: &University, staff_id: &str) -> Principal {
    let s = u
        .staff
        .iter()
        .find(|s| s.staff_id == staff_id)
        .expect("demo staff exist");
    Principal {
        username: s.staff_id.clone(),
        display_name: s.name.clone(),
        roles: s.roles.clone(),
        session_version: 0,
        password_change_required: false,
    }
}

fn term(u: &University, index: usize) -> CourseTerm {
    let c = &u.courses[index];
    CourseTerm {
        course_code: c.code.clone(),
        session: u.session,
        semester: c.semester,
    }
}

/// One uploaded sheet.
pub struct Uploaded {
    pub course: usize,
    pub sheet_id: i64,
}

/// Uploads each course's sheet as its lecturer; returns the sheets, their total bytes and
/// the number of bad rows planted in them.
pub async fn upload(
    services: &Services,
    u: &University,
    seed: u64,
) -> anyhow::Result<(Vec<Uploaded>, u64, u64)> {
    let uploads = stream::iter(0..u.courses.len())
        .map(|i| async move {
            let Some(sheet) = sheets::sheet(u, i, seed) else {
                return Ok(None);
            };
            let who = principal(u, &u.lecturer[&sheet.course]);
            let size = (sheet.csv.len() as u64, sheet.defects.len() as u64);
            let filename = format!("{}.csv", sheet.course.as_str().replace(' ', ""));
            let upload = Upload {
                term: term(u, i),
                filename: Some(filename),
                bytes: sheet.csv,
                mode: SheetMode::Replace,
            };
            let (summary, _) = services
                .upload_sheet(&who, upload, None)
                .await
                .with_context(|| format!("uploading the score sheet of {}", sheet.course))?;
            anyhow::Ok(Some((
                Uploaded {
                    course: i,
                    sheet_id: summary.id,
                },
                size,
            )))
        })
        .buffer_unordered(PARALLEL)
        .try_collect::<Vec<_>>()
        .await?;
    let bytes = uploads.iter().flatten().map(|(_, (n, _))| n).sum();
    let planted = uploads.iter().flatten().map(|(_, (_, d))| d).sum();
    Ok((
        uploads.into_iter().flatten().map(|(u, _)| u).collect(),
        bytes,
        planted,
    ))
}

/// What the workers made of the sheets.
#[derive(Debug, Default, Clone, Copy)]
pub struct Processed {
    pub rows: u64,
    pub accepted: u64,
    pub rejected: u64,
    /// Sheets that did not end `processed` (rejected as a whole, or failed).
    pub unusable: u64,
}

/// Waits until every sheet is final, or fails after `timeout`.
pub async fn wait_processed(
    services: &Services,
    sheets: &[Uploaded],
    timeout: Duration,
) -> anyhow::Result<Processed> {
    let store = &services.ports.store;
    let deadline = Instant::now() + timeout;
    let mut waiting: BTreeSet<i64> = sheets.iter().map(|s| s.sheet_id).collect();
    let mut out = Processed::default();
    loop {
        // Oldest first, stopping at the first one still queued: workers take sheets roughly
        // in upload order, and reading every waiting sheet on each pass would take the CPU
        // the workers need.
        let mut done = Vec::new();
        for &id in &waiting {
            let report = store
                .sheet(id)
                .await?
                .with_context(|| format!("score sheet {id} disappeared"))?;
            let s = report.sheet;
            if !s.status.is_final() {
                break;
            }
            done.push(id);
            out.rows += s.rows_total as u64;
            out.accepted += s.rows_accepted as u64;
            out.rejected += s.rows_rejected as u64;
            if s.status != eportal_ports::SheetStatus::Processed {
                out.unusable += 1;
            }
        }
        for id in done {
            waiting.remove(&id);
        }
        if waiting.is_empty() {
            return Ok(out);
        }
        if Instant::now() > deadline {
            anyhow::bail!(
                "{} of {} score sheets were still queued after {} s; the workers are not keeping up (see the log)",
                waiting.len(),
                sheets.len(),
                timeout.as_secs()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Submits, approves (HOD, dean, senate — each step passing up past a reviewer who teaches
/// the course) and publishes every course that has a sheet;
/// returns the number of workflow steps taken.
pub async fn approve_and_publish(
    services: &Services,
    u: &University,
    sheets: &[Uploaded],
) -> anyhow::Result<u64> {
    let registrar = Principal {
        username: REGISTRAR.into(),
        display_name: "The Registrar (for Senate)".into(),
        roles: vec![Role::Senate],
        session_version: 0,
        password_change_required: false,
    };
    let registrar = &registrar;
    let steps = stream::iter(sheets)
        .map(|s| async move {
            let course = &u.courses[s.course];
            let faculty = u
                .departments
                .iter()
                .find(|d| d.code == course.department_code)
                .map(|d| d.faculty_code.clone())
                .unwrap_or_default();
            let lecturer = principal(u, &u.lecturer[&course.code]);
            let hod = principal(u, &u.hod[&course.department_code]);
            let dean = principal(u, &u.dean[&faculty]);
            let t = term(u, s.course);
            // Separation of duties: a reviewer who teaches the course does not review it;
            // the next one up takes the step (workflow.self_approval = "escalate").
            let hod_step = if hod.username == lecturer.username {
                &dean
            } else {
                &hod
            };
            let dean_step = if dean.username == lecturer.username {
                registrar
            } else {
                &dean
            };
            let chain = [
                (&lecturer, Action::Submit),
                (hod_step, Action::Approve),
                (dean_step, Action::Approve),
                (registrar, Action::Approve),
                (registrar, Action::Publish),
            ];
            // The demo's lecturers confirm the students their sheets' bad rows left unscored,
            // as a lecturer does on the course page.
            let unscored = services.unscored(&t).await?;
            for (who, action) in chain {
                let name = action.name();
                services
                    .course_action_confirmed(who, &t, action, &unscored)
                    .await
                    .with_context(|| {
                        format!("{} could not {name} {}", who.username, course.code)
                    })?;
            }
            anyhow::Ok(5u64)
        })
        .buffer_unordered(PARALLEL)
        .try_collect::<Vec<u64>>()
        .await?;
    Ok(steps.iter().sum())
}
