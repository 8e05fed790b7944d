//! Grading policy versions over the embedded (SQLite) deployment, read the way students and
//! the registry read them: over HTTP from a running portal. Two cohorts follow their own
//! policies; a dry run changes nothing; the command line says how far a regrade is and what
//! a dry run found. The switch from one version to the next, as readers see it, is tested in
//! `regrade_switch.rs`.
//!
//! Every expected figure below is worked out by hand from the policies' tables in the
//! comments of `common/regrade.rs`, never by the core's own grading or GPA functions.

mod common;

use common::regrade::{
    before, publish_both, results, session, standing_of, university_with_two_cohorts, unlimited,
    COHORT_2023, COHORT_2024, EVERYONE,
};
use common::spawn_app_with;
use common::university::{ADMIN, STUDENTS};
use eportal::regrade_cli::{dry_run_words, progress_line};
use eportal::services::regrade::{ChangedStudent, DryRun};
use eportal_core::{Gpa, GradingPolicy, MatricNo, PolicyScope};
use eportal_ports::{Regrade, RegradeParts, RegradeStatus};
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn two_cohorts_follow_their_own_policy() {
    let app = spawn_app_with(unlimited).await;
    university_with_two_cohorts(&app).await;
    publish_both(&app).await;
    let admin = app.login(ADMIN).await;

    // The same totals (62 and 42), two policies.
    // COHORT_2023, default 5-point: 62 → B 4, 42 → E 1; (3×4 + 2×1)/5 = 14/5 = 2.80, which is
    // Second Class Lower (2.40 ≤ 2.80 < 3.50).
    // COHORT_2024, 4-point: 62 → B 3, 42 → F 0 (pass mark 45); (3×3 + 2×0)/5 = 9/5 = 1.80,
    // which is Third Class on the 4-point scale (1.00 ≤ 1.80 < 2.00).
    for m in [COHORT_2023, COHORT_2024] {
        let view = results(&app, &admin, m).await;
        assert_eq!(standing_of(&view), before(m), "{m}: {view}");
    }
    // The other students (admitted 2021/2022) are on the default too.
    for m in STUDENTS {
        let view = results(&app, &admin, m).await;
        assert_eq!(standing_of(&view), before(m), "{m}: {view}");
    }
    // The exact total of the half mark is kept beside the graded one: 14.5 + 25 = 39.5,
    // graded as 40.
    let s2 = results(&app, &admin, STUDENTS[2]).await;
    let mth = &s2["semesters"][0]["courses"][1];
    assert_eq!(
        (mth["exact_total"].clone(), mth["total"].clone()),
        (json!(39.5), json!(40)),
        "{s2}"
    );
}

#[tokio::test]
async fn a_dry_run_counts_what_would_change() {
    let app = spawn_app_with(unlimited).await;
    university_with_two_cohorts(&app).await;
    publish_both(&app).await;
    let services = &app.running.services;
    let admin = app.login(ADMIN).await;
    let mut before_views = Vec::new();
    for m in EVERYONE {
        before_views.push(results(&app, &admin, m).await);
    }

    let book = services
        .proposed_book(PolicyScope::Default, GradingPolicy::five_point_without_e())
        .await
        .expect("a different book");
    let report = services.dry_run(&book, 10).await.expect("the dry run");
    // By the tables of `common/regrade.rs`: 5 students, 10 records; 3 records go from E to F
    // (STUDENTS[0] CSC 201, STUDENTS[2] MTH 201, COHORT_2023 MTH 201); those three students'
    // GPAs change (2.60 → 2.00, 0.40 → 0.00, 2.80 → 2.40); only STUDENTS[0] changes class
    // (Second Class Lower → Third Class: COHORT_2023 stays at 2.40, the lower bound of Second
    // Class Lower, and STUDENTS[2] has no class either way); COHORT_2024 keeps its cohort's
    // policy.
    let gpa = |s: &str| Some(Gpa::parse(s).unwrap());
    let example = |m: &str, b: &str, a: &str, cb: Option<&str>, ca: Option<&str>| ChangedStudent {
        matric_no: MatricNo::parse(m).unwrap(),
        cgpa_before: gpa(b),
        cgpa_after: gpa(a),
        class_before: cb.map(String::from),
        class_after: ca.map(String::from),
    };
    assert_eq!(
        report,
        DryRun {
            students: 5,
            records: 10,
            records_changed: 3,
            gpa_changed: 3,
            class_changed: 1,
            examples: vec![
                example(
                    STUDENTS[0],
                    "2.60",
                    "2.00",
                    Some("Second Class Lower"),
                    Some("Third Class")
                ),
                example(STUDENTS[2], "0.40", "0.00", None, None),
                example(
                    COHORT_2023,
                    "2.80",
                    "2.40",
                    Some("Second Class Lower"),
                    Some("Second Class Lower")
                ),
            ],
        }
    );
    // Fewer examples asked for, fewer given; the counts stay.
    let one = services.dry_run(&book, 1).await.expect("the dry run");
    assert_eq!((one.gpa_changed, one.examples.len()), (3, 1));

    // Nothing changed: the same book is active, no other was stored, no regrade started, and
    // every student reads exactly what they read before.
    let store = &services.ports.store;
    assert_eq!(store.active_policy_version().await.unwrap(), 1);
    assert_eq!(store.policy_book(2).await.unwrap(), None);
    assert_eq!(
        store.regrades(10).await.unwrap().len(),
        1,
        "only the cohort's switch"
    );
    for (m, was) in EVERYONE.iter().zip(&before_views) {
        let now = services
            .load_results(&MatricNo::parse(m).unwrap())
            .await
            .unwrap();
        assert_eq!(serde_json::to_value(now).unwrap(), *was, "{m}");
        assert_eq!(results(&app, &admin, m).await, *was, "{m}");
    }
}

fn regrade(status: RegradeStatus, maps_done: u32, reduces_done: u32) -> Regrade {
    Regrade {
        id: 7,
        from_version: 1,
        to_version: 2,
        status,
        parts: RegradeParts {
            map: 16,
            reduce: 16,
        },
        maps_done,
        reduces_done,
        records: 640,
        changed: 12,
        students: 0,
        started_by: ADMIN.into(),
        started_at_ms: 0,
        finished_at_ms: None,
        message: None,
    }
}

#[test]
fn the_command_line_says_how_far_a_regrade_is_and_what_a_dry_run_found() {
    // 16 maps + 4 reduces of 16 + 16 + 1 commit = 20/33 tasks; the bar is 30 wide:
    // 20 × 30 / 33 = 18.2 → 18 filled. 20 tasks in 10 s while watching is 0.5 s a task,
    // 13 left: 6.5 s → 7 s.
    let r = regrade(RegradeStatus::Reducing, 16, 4);
    assert_eq!(
        progress_line(&r, Duration::from_secs(10), 0),
        format!(
            "[{}{}] 20/33 tasks  reducing  640 records  ETA 0:07",
            "#".repeat(18),
            ".".repeat(12)
        )
    );
    // Nothing finished since watching began: no rate to go by.
    assert_eq!(
        progress_line(&r, Duration::from_secs(10), 20),
        format!(
            "[{}{}] 20/33 tasks  reducing  640 records  ETA …",
            "#".repeat(18),
            ".".repeat(12)
        )
    );
    // Done: every task, the commit included; no ETA.
    assert_eq!(
        progress_line(
            &regrade(RegradeStatus::Done, 16, 16),
            Duration::from_secs(3),
            0
        ),
        format!("[{}] 33/33 tasks  done  640 records", "#".repeat(30))
    );
    // Failed after 3 maps: 3 × 30 / 33 = 2.7 → 2 filled; no ETA either.
    assert_eq!(
        progress_line(
            &regrade(RegradeStatus::Failed, 3, 0),
            Duration::from_secs(3),
            0
        ),
        format!("[##{}] 3/33 tasks  failed  640 records", ".".repeat(28))
    );

    let d = DryRun {
        students: 5,
        records: 10,
        records_changed: 3,
        gpa_changed: 3,
        class_changed: 1,
        examples: vec![ChangedStudent {
            matric_no: MatricNo::parse(STUDENTS[2]).unwrap(),
            cgpa_before: Gpa::parse("0.40"),
            cgpa_after: Gpa::parse("0.00"),
            class_before: None,
            class_after: None,
        }],
    };
    assert_eq!(
        dry_run_words(&d, PolicyScope::Cohort(session(2024))),
        "dry run: the new policy for students admitted from 2024/2025; nothing was changed\n\
         5 students, 10 records: 3 records would change grade or points\n\
         3 students' GPAs would change; 1 students' classes of degree would change\n\
         for example:\n  SCI/2021/0003: CGPA 0.40 → 0.00, class none → none\n"
    );
    let none = DryRun {
        examples: Vec::new(),
        ..d
    };
    assert!(!dry_run_words(&none, PolicyScope::Default).contains("for example"));
}
