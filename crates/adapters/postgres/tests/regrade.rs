//! PostgreSQL-only: a regrade's switch racing sheet applies from other processes. An apply
//! either commits before the switch (which then grades its records again) or waits for it
//! and is refused, to be judged again under the new book; either way every record ends
//! graded under the new book. The first two cases fail if either side's lock is removed.

mod common;

use eportal_core::model::CourseTerm;
use eportal_core::policy_book::partition;
use eportal_core::regrade;
use eportal_core::{GradingPolicy, PolicyBook, PolicyScope};
use eportal_ports::contract::store::fixture::{
    expected_results, judged, refresh_all, seed, submit, upload, Uni,
};
use eportal_ports::{
    ApplyOutcome, Policies, Regrade, RegradeParts, RegradeStatus, Results, SheetOutcome, Sheets,
};
use eportal_postgres::{PgStore, PgStoreOptions};
use std::sync::Arc;
use std::time::Duration;

/// A store with the fixture's university, CSC 101 scored, and a regrade to the 4-point scale
/// whose map and reduce tasks are done: only the switch is left.
async fn ready_to_switch() -> (String, Arc<PgStore>, Uni, Regrade, PolicyBook) {
    let url = common::fresh_database().await;
    let store = Arc::new(common::connect(&url, &PgStoreOptions::default()).await);
    let uni = seed(store.as_ref()).await;
    upload(
        store.as_ref(),
        &uni,
        &uni.csc101,
        1,
        &[(0, 30, 40), (1, 20, 30)],
    )
    .await;
    let next = uni
        .book
        .with(PolicyScope::Default, GradingPolicy::four_point());
    let parts = RegradeParts { map: 2, reduce: 2 };
    let r = store.start_regrade(&next, parts, "registry").await.unwrap();
    let book = store.policy_book(r.to_version).await.unwrap().unwrap();
    let key = |t: &CourseTerm| {
        let (s, n) = (t.session.start_year(), t.semester.number());
        format!("{}|{s}|{n}", t.course_code.as_str())
    };
    let terms = store.graded_terms().await.unwrap();
    for part in 0..parts.map {
        let mine: Vec<CourseTerm> = terms
            .iter()
            .filter(|t| partition(&key(t), parts.map) == part)
            .cloned()
            .collect();
        let mut rows = store.regrade_rows(&mine).await.unwrap();
        let changed = regrade::map(&book, &mut rows);
        assert!(store.finish_map(r.id, part, &rows, changed).await.unwrap());
    }
    for part in 0..parts.reduce {
        let rows = store.reduce_rows(r.id, part).await.unwrap();
        let results = regrade::reduce(&book, &rows);
        assert!(store.finish_reduce(r.id, part, &results).await.unwrap());
    }
    let r = store.regrade(r.id).await.unwrap().unwrap();
    assert_eq!(r.status, RegradeStatus::Committing);
    (url, store, uni, r, book)
}

/// Every record of the university is graded under `book`, and its students' results follow.
async fn assert_all_under(store: &PgStore, uni: &Uni, book: &PolicyBook) {
    for m in &uni.students {
        let records = store.student_records(m).await.unwrap();
        // The fixture's students all entered in 2024.
        let entry = uni.csc101.session;
        for r in &records {
            let g = book.for_record(entry, r.session).grade(r.total);
            assert_eq!(
                (&r.grade, r.points),
                (&g.grade, g.points),
                "{m} in {}",
                r.course_code
            );
        }
        assert_eq!(
            store.semester_results(m).await.unwrap(),
            expected_results(m, &records, book.for_student(entry)),
            "results of {m}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_switch_waits_for_an_apply_in_progress_and_grades_it() {
    let (_, store, uni, r, book) = ready_to_switch().await;
    // An apply in progress (as `apply_sheet` writes it): student 2, not scored before, gets
    // 45, graded D = 2 under the old book. A new record: no row lock makes the switch wait.
    let mut apply = store.pool().begin().await.unwrap();
    for table in ["LOCK", "score_versions", "current_scores"] {
        let sql = if table == "LOCK" {
            "LOCK TABLE current_scores IN ROW EXCLUSIVE MODE".to_string()
        } else {
            format!(
                "INSERT INTO {table} (course_code, session, semester, matric_no, version, ca, \
                 exam, total, grade, points, sheet_id{}) SELECT course_code, session, semester, \
                 'SCI/2024/0003', 1, 300, 150, 450, 'D', 2, sheet_id{} FROM current_scores \
                 WHERE matric_no = 'SCI/2024/0001'",
                if table == "score_versions" {
                    ", recorded_at_ms"
                } else {
                    ""
                },
                if table == "score_versions" { ", 0" } else { "" },
            )
        };
        sqlx::query(&sql).execute(&mut *apply).await.unwrap();
    }
    let switch = tokio::spawn({
        let store = store.clone();
        async move { store.commit_regrade(r.id).await }
    });
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(!switch.is_finished(), "the switch waits for the apply");
    apply.commit().await.unwrap();
    let committed = switch.await.unwrap().unwrap();
    assert!(committed.switched);
    assert_eq!(committed.graded_at_commit, 1, "the score no map task read");
    let r2 = &store.student_records(&uni.students[2]).await.unwrap()[0];
    assert_eq!(
        (r2.grade.as_str(), r2.points),
        ("D", 1),
        "graded under the new book"
    );
    assert_all_under(&store, &uni, &book).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_apply_waits_for_the_switch_in_progress_and_is_refused() {
    let (_, store, uni, _, book) = ready_to_switch().await;
    // A switch in progress (as `commit_regrade` holds it).
    let mut switch = store.pool().begin().await.unwrap();
    sqlx::query("LOCK TABLE current_scores IN SHARE ROW EXCLUSIVE MODE")
        .execute(&mut *switch)
        .await
        .unwrap();
    let s = submit(store.as_ref(), &uni.mth101, 2).await;
    let apply = tokio::spawn({
        let (store, outcome, old) = (
            store.clone(),
            judged(&uni, &[(0, 20, 30)]),
            uni.book.clone(),
        );
        async move { store.apply_sheet(s.id, &outcome, &old).await }
    });
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(!apply.is_finished(), "the apply waits for the switch");
    sqlx::query("UPDATE policy_books SET activated_at_ms = 1 WHERE version = $1")
        .bind(i64::from(book.version))
        .execute(&mut *switch)
        .await
        .unwrap();
    switch.commit().await.unwrap();
    assert_eq!(
        apply.await.unwrap().unwrap(),
        ApplyOutcome::PolicyChanged {
            active: book.version
        }
    );
    assert!(store.course_records(&uni.mth101).await.unwrap().is_empty());
}

/// A sheet's outcome judged again under `book` (as a worker does after `PolicyChanged`).
fn judged_under(outcome: &SheetOutcome, uni: &Uni, book: &PolicyBook) -> SheetOutcome {
    let SheetOutcome::Judged { accepted, rejected } = outcome else {
        return outcome.clone();
    };
    let accepted = accepted
        .iter()
        .map(|r| {
            let g = book
                .for_record(uni.csc101.session, uni.csc101.session)
                .grade(r.total);
            let mut r = r.clone();
            (r.grade, r.points) = (g.grade, g.points);
            r
        })
        .collect();
    SheetOutcome::Judged {
        accepted,
        rejected: rejected.clone(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn applies_racing_the_switch_all_end_under_the_new_book() {
    let (url, a, uni, r, book) = ready_to_switch().await;
    // Another process applies sheets while this one switches.
    let b = Arc::new(common::connect(&url, &PgStoreOptions::default()).await);
    let terms = [uni.mth101.clone(), uni.csc102.clone(), uni.csc101.clone()];
    let applies = tokio::spawn({
        let (b, uni) = (b.clone(), uni.clone());
        async move {
            let mut refused = 0;
            for n in 0..12u16 {
                let t = &terms[usize::from(n) % terms.len()];
                let s = submit(b.as_ref(), t, 100 + u64::from(n)).await;
                let scores: Vec<(usize, u16, u16)> = (0..5).map(|i| (i, 10 + n, 30)).collect();
                let outcome = judged(&uni, &scores);
                let mut out = b.apply_sheet(s.id, &outcome, &uni.book).await.unwrap();
                if let ApplyOutcome::PolicyChanged { .. } = out {
                    refused += 1;
                    let active = b.active_policy().await.unwrap().unwrap();
                    let again = judged_under(&outcome, &uni, &active);
                    out = b.apply_sheet(s.id, &again, &active).await.unwrap();
                }
                assert!(matches!(out, ApplyOutcome::Applied { .. }), "{out:?}");
            }
            refused
        }
    });
    tokio::time::sleep(Duration::from_millis(30)).await;
    let committed = a.commit_regrade(r.id).await.unwrap();
    let refused = applies.await.unwrap();
    assert!(committed.switched);
    assert!(refused <= 12);
    // Applied sheets leave their students' GPAs to the workers' refresh, under the new book.
    refresh_all(a.as_ref(), &book).await;
    assert_all_under(&a, &uni, &book).await;
}
