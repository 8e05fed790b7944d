//! The end state a cluster must reach whatever was killed on the way, read straight from
//! PostgreSQL through the store (never through the portal that is under test):
//!
//! - every uploaded sheet is final: the latest of each course term processed with the counts
//!   its rows call for, every earlier one superseded, none queued, failed or rejected, and no
//!   sheet beyond those uploaded (a retried upload is the same sheet);
//! - every accepted row is stored exactly once: a course term's current records are exactly
//!   the accepted rows of its latest sheet, one per student, graded by the policy, and each
//!   score's history counts one version per sheet that changed it;
//! - every stored semester result (units, weighted points, GPA, CGPA) equals the one worked
//!   out here from the rows the plan uploaded, with a few lines of arithmetic of this file's
//!   own (the default five-point scale written out, integer sums, half-up rounding), never
//!   with the core's grading or GPA functions, so a mistake in those cannot hide itself.

use super::semester::{Plan, Sheet};
use eportal_core::{AcademicSession, GradingPolicy, MatricNo, Semester};
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

/// Waits until the workers' refresh has recomputed every GPA the applied sheets marked stale.
pub async fn wait_results_fresh(store: &dyn Results, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    loop {
        let stale = store.stale_results().await.expect("the store answers");
        if stale == 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{stale} students' semester results still stale after {} s: no worker refreshed them",
            timeout.as_secs()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Checks everything in the module's description. `ids[k]` is the id `plan.sheets[k]` got.
pub async fn assert_consistent(store: &PgStore, plan: &Plan, ids: &[i64]) {
    assert_eq!(ids.len(), plan.sheets.len(), "one id per planned sheet");
    wait_results_fresh(store, Duration::from_secs(60)).await;
    let policy = store
        .institution()
        .await
        .expect("PostgreSQL answers")
        .map(|(_, p)| p)
        .unwrap_or_default();
    assert_eq!(
        policy,
        GradingPolicy::default(),
        "the GPAs below are worked out for the default policy"
    );
    let mut by_hand = worked_by_hand(plan, ids);
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
        let stored: Vec<[u32; 6]> = store
            .semester_results(m)
            .await
            .expect("PostgreSQL answers")
            .iter()
            .map(|r| {
                [
                    r.units,
                    r.weighted_points,
                    u32::from(r.gpa.hundredths()),
                    r.cumulative_units,
                    r.cumulative_weighted_points,
                    u32::from(r.cgpa.hundredths()),
                ]
            })
            .collect();
        assert_eq!(
            stored,
            by_hand.remove(m).unwrap_or_default(),
            "{m}: stored [units, weighted points, GPA×100, cumulative units, cumulative weighted \
             points, CGPA×100] per semester differ from the ones worked out from the uploaded rows"
        );
    }
}

/// Points on the default five-point scale for a total in tenths of a mark, rounded half up to
/// a whole mark first (44.5 is 45, a D). Written out here on purpose: see the module note.
fn points_by_hand(total_tenths: u32) -> u32 {
    match (total_tenths + 5) / 10 {
        70.. => 5,
        60..=69 => 4,
        50..=59 => 3,
        45..=49 => 2,
        40..=44 => 1,
        _ => 0,
    }
}

/// `weighted ÷ units` in hundredths, rounded half up (units > 0).
fn hundredths_half_up(weighted: u32, units: u32) -> u32 {
    (200 * weighted + units) / (2 * units)
}

/// Per student, in term order: [units, weighted, GPA×100, cumulative units, cumulative
/// weighted, CGPA×100], from the accepted rows of each course's latest sheet.
fn worked_by_hand(plan: &Plan, ids: &[i64]) -> BTreeMap<MatricNo, Vec<[u32; 6]>> {
    // Per student and term (in time order): (units, units × points).
    type Sums = BTreeMap<(AcademicSession, Semester), (u32, u32)>;
    let mut terms: BTreeMap<MatricNo, Sums> = BTreeMap::new();
    for (o, offering) in plan.offerings.iter().enumerate() {
        let units = u32::from(offering.course.units);
        for (m, (ca, exam)) in &latest_of(plan, ids, o).accepted {
            let total = u32::from(ca.tenths()) + u32::from(exam.tenths());
            let term = (offering.term.session, offering.term.semester);
            let sum = terms.entry(m.clone()).or_default().entry(term).or_default();
            sum.0 += units;
            sum.1 += units * points_by_hand(total);
        }
    }
    terms
        .into_iter()
        .map(|(m, by_term)| {
            let (mut cu, mut cw) = (0, 0);
            let rows = by_term
                .into_values()
                .map(|(u, w)| {
                    cu += u;
                    cw += w;
                    [
                        u,
                        w,
                        hundredths_half_up(w, u),
                        cu,
                        cw,
                        hundredths_half_up(cw, cu),
                    ]
                })
                .collect();
            (m, rows)
        })
        .collect()
}

#[test]
fn the_hand_arithmetic_agrees_with_a_worked_example() {
    // 44.5 → 45 (D, 2); 69.5 → 70 (A, 5); 39.4 → 39 (F, 0).
    assert_eq!(
        [445, 695, 394].map(points_by_hand),
        [2, 5, 0],
        "half-up rounding before grading"
    );
    // 3 units of A and 2 of D: (15 + 4) / 5 = 3.80; 1 unit of B and 2 of C: 10 / 3 = 3.33.
    assert_eq!(hundredths_half_up(19, 5), 380);
    assert_eq!(hundredths_half_up(10, 3), 333);
    // 2 / 3 = 0.6667 → 0.67 (half up), not 0.66.
    assert_eq!(hundredths_half_up(2, 3), 67);
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
