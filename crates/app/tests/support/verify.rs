//! The end state a cluster must reach whatever was killed on the way, read straight from
//! PostgreSQL through the store (never through the portal that is under test):
//!
//! - every uploaded sheet is final: the latest of each course term processed with the counts
//!   its rows call for, every earlier one superseded, none queued, failed or rejected, and no
//!   sheet beyond those uploaded (a retried upload is the same sheet);
//! - every accepted row is stored exactly once: a course term's current records are exactly
//!   the accepted rows of its latest sheet, one per student, graded by the policy, and each
//!   score's history counts one version per sheet that changed it;
//! - every stored semester result equals `eportal_core::gpa::summarise` of the student's
//!   stored records.

use super::semester::{Plan, Sheet};
use eportal_core::gpa::{summarise, Attempt};
use eportal_core::model::SemesterResult;
use eportal_core::GradingPolicy;
use eportal_ports::{Directory, Results, SheetStatus, Sheets};
use eportal_postgres::PgStore;
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

/// Waits until none of `ids` is queued any more; panics listing the stuck ones.
pub async fn wait_final(store: &PgStore, ids: &[i64], timeout: Duration) {
    let deadline = Instant::now() + timeout;
    loop {
        let mut waiting = Vec::new();
        for &id in ids {
            let report = store
                .sheet(id)
                .await
                .expect("PostgreSQL answers")
                .unwrap_or_else(|| panic!("sheet {id} was accepted (202) but is not stored"));
            if !report.sheet.status.is_final() {
                waiting.push(id);
            }
        }
        if waiting.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "sheets still queued after {} s (stuck): {waiting:?}",
            timeout.as_secs()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Checks everything in the module's description. `ids[k]` is the id `plan.sheets[k]` got.
pub async fn assert_consistent(store: &PgStore, plan: &Plan, ids: &[i64]) {
    assert_eq!(ids.len(), plan.sheets.len(), "one id per planned sheet");
    let policy = store
        .institution()
        .await
        .expect("PostgreSQL answers")
        .map(|(_, p)| p)
        .unwrap_or_default();
    // The course terms each student must have a current record in, from the plan.
    let mut expected_by_student: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut stored_rows = 0usize;
    for (o, offering) in plan.offerings.iter().enumerate() {
        let mine: Vec<(&Sheet, i64)> = plan
            .sheets
            .iter()
            .zip(ids)
            .filter(|(s, _)| s.offering == o)
            .map(|(s, &id)| (s, id))
            .collect();
        let (latest, latest_id) = *mine
            .iter()
            .max_by_key(|(_, id)| *id)
            .expect("a sheet per course");
        let label = &latest.label;
        assert_eq!(
            latest.version,
            mine.iter().map(|(s, _)| s.version).max().unwrap(),
            "{label}: the correction was uploaded after the first version, so it has the higher id"
        );

        let stored = store
            .sheets_for(&offering.term)
            .await
            .expect("PostgreSQL answers");
        let stored_ids: BTreeSet<i64> = stored.iter().map(|s| s.id).collect();
        let uploaded_ids: BTreeSet<i64> = mine.iter().map(|(_, id)| *id).collect();
        assert_eq!(
            stored_ids, uploaded_ids,
            "{label}: the term holds exactly the sheets uploaded"
        );
        for s in &stored {
            let want = if s.id == latest_id {
                SheetStatus::Processed
            } else {
                SheetStatus::Superseded
            };
            assert_eq!(s.status, want, "{label}: sheet {} ({:?})", s.id, s.message);
        }
        let report = store
            .sheet(latest_id)
            .await
            .expect("PostgreSQL answers")
            .expect("stored");
        assert_eq!(
            (report.sheet.rows_accepted, report.sheet.rows_rejected),
            (latest.accepted.len() as u32, latest.rejected),
            "{label}: accepted and refused rows"
        );
        assert_eq!(
            report.row_errors.len(),
            latest.rejected as usize,
            "{label}: row errors"
        );

        let records = store
            .course_records(&offering.term)
            .await
            .expect("PostgreSQL answers");
        let matrics: Vec<&str> = records.iter().map(|r| r.matric_no.as_str()).collect();
        let unique: BTreeSet<&str> = matrics.iter().copied().collect();
        assert_eq!(
            matrics.len(),
            unique.len(),
            "{label}: a student with two current records"
        );
        let want: BTreeSet<&str> = latest.accepted.keys().map(|m| m.as_str()).collect();
        assert_eq!(
            unique, want,
            "{label}: current records are the latest sheet's accepted rows"
        );
        stored_rows += records.len();
        for r in &records {
            let (ca, exam) = latest.accepted[&r.matric_no];
            let total = ca.checked_add(exam).expect("a valid total");
            let graded = policy.grade(total);
            assert_eq!(
                (
                    r.ca,
                    r.exam,
                    r.total,
                    r.grade.as_str(),
                    r.points,
                    r.units,
                    r.sheet_id
                ),
                (
                    ca,
                    exam,
                    total,
                    graded.grade.as_str(),
                    graded.points,
                    offering.course.units,
                    latest_id
                ),
                "{label}: record of {}",
                r.matric_no
            );
            let history = store
                .record_history(&r.matric_no, &offering.term)
                .await
                .expect("PostgreSQL answers");
            let versions: Vec<u32> = history.iter().map(|h| h.version).collect();
            let sheets: BTreeSet<i64> = history.iter().map(|h| h.sheet_id).collect();
            assert!(
                versions == (1..=history.len() as u32).collect::<Vec<_>>()
                    && sheets.len() == history.len()
                    && history.len() <= mine.len()
                    && history.last() == Some(r),
                "{label}: history of {} must have one version per sheet that changed it, \
                 ending at the current record: {history:?}",
                r.matric_no
            );
        }
        for m in latest.accepted.keys() {
            expected_by_student
                .entry(m.to_string())
                .or_default()
                .insert(term_key(&offering.term));
        }
    }
    let planned: usize = plan
        .offerings
        .iter()
        .enumerate()
        .map(|(o, _)| latest_of(plan, ids, o).accepted.len())
        .sum();
    assert_eq!(
        stored_rows, planned,
        "every accepted row is stored exactly once"
    );

    for m in &plan.students {
        let records = store.student_records(m).await.expect("PostgreSQL answers");
        let terms: BTreeSet<String> = records
            .iter()
            .map(|r| {
                term_key(&eportal_core::model::CourseTerm {
                    course_code: r.course_code.clone(),
                    session: r.session,
                    semester: r.semester,
                })
            })
            .collect();
        assert_eq!(
            terms.len(),
            records.len(),
            "{m}: one current record per course term"
        );
        let want = expected_by_student.remove(m.as_str()).unwrap_or_default();
        assert_eq!(terms, want, "{m}: the courses with a stored score");
        let attempts: Vec<Attempt> = records
            .iter()
            .map(|r| Attempt {
                course: r.course_code.clone(),
                session: r.session,
                semester: r.semester,
                units: r.units,
                points: r.points,
            })
            .collect();
        let stored = store.semester_results(m).await.expect("PostgreSQL answers");
        assert_eq!(
            stored,
            recomputed(m, &attempts, &policy),
            "{m}: stored GPA/CGPA differ from a recomputation of the stored records"
        );
    }
}

fn latest_of<'a>(plan: &'a Plan, ids: &[i64], offering: usize) -> &'a Sheet {
    plan.sheets
        .iter()
        .zip(ids)
        .filter(|(s, _)| s.offering == offering)
        .max_by_key(|(_, id)| **id)
        .map(|(s, _)| s)
        .expect("a sheet per course")
}

fn term_key(t: &eportal_core::model::CourseTerm) -> String {
    format!("{} {} {:?}", t.course_code, t.session, t.semester)
}

fn recomputed(
    m: &eportal_core::MatricNo,
    attempts: &[Attempt],
    policy: &GradingPolicy,
) -> Vec<SemesterResult> {
    summarise(attempts, policy)
        .into_iter()
        .map(|s| SemesterResult {
            matric_no: m.clone(),
            session: s.session,
            semester: s.semester,
            units: s.tally.units,
            weighted_points: s.tally.weighted,
            gpa: s.gpa,
            cumulative_units: s.cumulative.units,
            cumulative_weighted_points: s.cumulative.weighted,
            cgpa: s.cgpa,
        })
        .collect()
}

/// Waits until no job of the namespace is waiting (ready or delayed for a retry), and checks
/// none was dead-lettered. (Jobs a worker holds unacknowledged are not counted by the broker
/// as ready; by then every sheet is final, so such a job can only be a redelivery that
/// changes nothing.)
pub async fn assert_queue_drained(iso: &super::engines::Isolation, timeout: Duration) {
    use eportal_ports::JobQueue;
    let queue = iso.queue().await;
    let deadline = Instant::now() + timeout;
    loop {
        let s = queue
            .stats()
            .await
            .expect("RabbitMQ reports the queues' depths");
        assert_eq!(s.dead, 0, "jobs were dead-lettered: {s:?}");
        if s.ready + s.delayed == 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "jobs still in the queue after {} s: {s:?}",
            timeout.as_secs()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
