//! Store cases for grading policy books: version 1 from the institution, a regrade of a
//! store without scores switching at once, one regrade at a time (and a failed one leaving
//! the old book active), and sheets judged under a book that is not the active one refused.
//! The regrade's tasks are run here as the workers would, with the core's `map` and
//! `reduce`; the cases of a whole regrade are in `regrades`.

use super::fixture::*;
use crate::{
    ApplyOutcome, Committed, PortError, RecordStore, Regrade, RegradeParts, RegradeStatus,
    SheetStatus,
};
use eportal_core::jobs::Job;
use eportal_core::model::CourseTerm;
use eportal_core::policy_book::{partition, student_partition};
use eportal_core::regrade;
use eportal_core::{GradingPolicy, PolicyBook, PolicyScope};
use std::sync::Arc;

/// The next book: the 5-point scale without E by default, the 4-point scale for students
/// admitted from 2024 (the fixture's five), so both cohorts' grades and GPAs change.
pub(super) fn next_book(uni: &Uni) -> PolicyBook {
    uni.book
        .with(PolicyScope::Default, GradingPolicy::five_point_without_e())
        .with(
            PolicyScope::Cohort(session(2024)),
            GradingPolicy::four_point(),
        )
}

/// The key the map tasks split course terms by.
fn term_key(t: &CourseTerm) -> String {
    format!(
        "{}|{}|{}",
        t.course_code.as_str(),
        t.session.start_year(),
        t.semester.number()
    )
}

/// Runs map task `part` as a worker would; returns `finish_map`'s answer and the rows'
/// changes.
pub(super) async fn run_map(
    store: &dyn RecordStore,
    r: &Regrade,
    book: &PolicyBook,
    part: u32,
) -> (bool, u64) {
    let terms: Vec<CourseTerm> = store
        .graded_terms()
        .await
        .unwrap()
        .into_iter()
        .filter(|t| partition(&term_key(t), r.parts.map) == part)
        .collect();
    let mut rows = store.regrade_rows(&terms).await.unwrap();
    let changed = regrade::map(book, &mut rows);
    let done = store.finish_map(r.id, part, &rows, changed).await.unwrap();
    (done, changed)
}

/// Runs reduce task `part` as a worker would; returns `finish_reduce`'s answer.
pub(super) async fn run_reduce(
    store: &dyn RecordStore,
    r: &Regrade,
    book: &PolicyBook,
    part: u32,
) -> bool {
    let rows = store.reduce_rows(r.id, part).await.unwrap();
    for row in &rows {
        assert_eq!(
            student_partition(&row.matric, r.parts.reduce),
            part,
            "a reduce task gets only its own students' rows"
        );
    }
    let results = regrade::reduce(book, &rows);
    store.finish_reduce(r.id, part, &results).await.unwrap()
}

pub(super) async fn status(store: &dyn RecordStore, id: i64) -> Regrade {
    store
        .regrade(id)
        .await
        .unwrap()
        .expect("the regrade is stored")
}

pub async fn version_one_comes_from_the_institution(store: Arc<dyn RecordStore>) {
    assert_eq!(
        store.active_policy().await.unwrap(),
        None,
        "a new store has no book"
    );
    assert_eq!(store.active_policy_version().await.unwrap(), 0);
    let uni = seed(store.as_ref()).await;
    let one = PolicyBook {
        version: 1,
        ..PolicyBook::single(uni.policy.clone())
    };
    assert_eq!(
        uni.book, one,
        "the institution's policy is book version 1, active"
    );
    assert_eq!(store.active_policy_version().await.unwrap(), 1);
    assert_eq!(store.policy_book(1).await.unwrap(), Some(one.clone()));
    assert_eq!(store.policy_book(2).await.unwrap(), None);
    // The seed again (another policy): version 1 stays the only book.
    let (inst, _) = store.institution().await.unwrap().unwrap();
    store
        .put_institution(&inst, &GradingPolicy::four_point())
        .await
        .unwrap();
    assert_eq!(store.active_policy().await.unwrap(), Some(one));
    assert_eq!(store.institution().await.unwrap(), Some((inst, uni.policy)));
    assert!(store.regrades(10).await.unwrap().is_empty());
}

pub async fn a_store_without_scores_switches_at_once(store: Arc<dyn RecordStore>) {
    let uni = seed(store.as_ref()).await;
    let book = next_book(&uni);
    let parts = RegradeParts { map: 3, reduce: 2 };
    let r = store.start_regrade(&book, parts, "registry").await.unwrap();
    assert_eq!(
        (r.status, r.from_version, r.to_version, r.parts),
        (RegradeStatus::Done, 1, 2, parts)
    );
    assert_eq!((r.maps_done, r.reduces_done, r.records), (3, 2, 0));
    assert_eq!(r.started_by, "registry");
    assert!(r.finished_at_ms.is_some() && r.message.is_none());
    assert_eq!(store.regrade(r.id).await.unwrap(), Some(r.clone()));
    assert_eq!(store.regrades(10).await.unwrap(), vec![r.clone()]);
    let stored = PolicyBook {
        version: 2,
        ..book.clone()
    };
    assert_eq!(store.active_policy().await.unwrap(), Some(stored.clone()));
    assert_eq!(store.policy_book(2).await.unwrap(), Some(stored));
    assert_eq!(store.active_policy_version().await.unwrap(), 2);
    assert_eq!(
        store.institution().await.unwrap().map(|(_, p)| p),
        Some(book.default.clone())
    );
    // Nothing to do: no job was written, and the switch cannot happen again.
    let jobs = store.outbox_pending(100).await.unwrap();
    assert!(jobs
        .iter()
        .all(|(_, e)| matches!(e.job, Job::ProcessSheet { .. })));
    assert_eq!(
        store.commit_regrade(r.id).await.unwrap(),
        Committed::default()
    );
    assert!(!store.finish_map(r.id, 0, &[], 0).await.unwrap());
}

pub async fn one_regrade_runs_at_a_time(store: Arc<dyn RecordStore>) {
    let uni = seed(store.as_ref()).await;
    upload(store.as_ref(), &uni, &uni.csc101, 1, &[(0, 30, 12)]).await;
    let book = next_book(&uni);
    let parts = RegradeParts { map: 2, reduce: 2 };
    let first = store.start_regrade(&book, parts, "registry").await.unwrap();
    assert_eq!(first.status, RegradeStatus::Mapping);
    match store.start_regrade(&book, parts, "registry").await {
        Err(PortError::Conflict(m)) => {
            assert!(m.contains(&format!("regrade {}", first.id)), "{m}")
        }
        other => panic!("expected Conflict, got {other:?}"),
    }
    match store.commit_regrade(first.id).await {
        Err(PortError::Conflict(_)) => {}
        other => panic!("a mapping regrade cannot switch: {other:?}"),
    }

    store
        .fail_regrade(first.id, "map task 0 failed for good")
        .await
        .unwrap();
    let failed = status(store.as_ref(), first.id).await;
    assert_eq!(failed.status, RegradeStatus::Failed);
    assert_eq!(
        failed.message.as_deref(),
        Some("map task 0 failed for good")
    );
    assert!(failed.finished_at_ms.is_some());
    store.fail_regrade(first.id, "again").await.unwrap();
    assert_eq!(
        status(store.as_ref(), first.id).await,
        failed,
        "final stays"
    );
    assert!(!run_map(store.as_ref(), &first, &book, 0).await.0, "failed");
    assert_eq!(store.active_policy_version().await.unwrap(), 1);
    let (_, v) = store.graded_records(&uni.students[0]).await.unwrap();
    assert_eq!(v, Some(1), "the old book stays active");

    let second = store.start_regrade(&book, parts, "registry").await.unwrap();
    assert_eq!(
        (second.status, second.from_version, second.to_version),
        (RegradeStatus::Mapping, 1, 3)
    );
    assert!(store.policy_book(2).await.unwrap().is_some(), "kept");
    let ids: Vec<i64> = store
        .regrades(10)
        .await
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(ids, vec![second.id, first.id], "newest first");
    assert_not_found(
        store.commit_regrade(second.id + 1000).await,
        "no such regrade",
    );
}

pub async fn a_sheet_judged_under_another_book_applies_nothing(store: Arc<dyn RecordStore>) {
    let uni = seed(store.as_ref()).await;
    let s = submit(store.as_ref(), &uni.csc101, 1).await;
    let outcome = judged(&uni, &[(0, 30, 40)]);
    let unstored = PolicyBook::single(uni.policy.clone());
    let out = store.apply_sheet(s.id, &outcome, &unstored).await.unwrap();
    assert_eq!(out, ApplyOutcome::PolicyChanged { active: 1 });

    let book = next_book(&uni);
    let parts = RegradeParts { map: 1, reduce: 1 };
    store.start_regrade(&book, parts, "registry").await.unwrap();
    let out = store.apply_sheet(s.id, &outcome, &uni.book).await.unwrap();
    assert_eq!(out, ApplyOutcome::PolicyChanged { active: 2 });
    let sheet = store.sheet(s.id).await.unwrap().unwrap().sheet;
    assert_eq!(sheet.status, SheetStatus::Queued, "nothing applied");
    assert!(store.course_records(&uni.csc101).await.unwrap().is_empty());

    let active = store.active_policy().await.unwrap().unwrap();
    let out = store.apply_sheet(s.id, &outcome, &active).await.unwrap();
    assert!(matches!(out, ApplyOutcome::Applied { .. }), "{out:?}");
    assert_eq!(store.course_records(&uni.csc101).await.unwrap().len(), 1);
}
