//! Store cases for results (current records, semester results as the core computes them)
//! and for the approval workflow's stored state.

use super::fixture::*;
use crate::{PortError, RecordStore, Refreshed};
use eportal_core::grading::GpaRounding;
use eportal_core::workflow::WorkflowState;
use eportal_core::PolicyBook;
use std::sync::Arc;

pub async fn semester_results_follow_the_core(store: Arc<dyn RecordStore>) {
    let uni = seed(store.as_ref()).await;
    // Student 0: A in MTH 101 (2 units) and B in CSC 102 (1 unit): 14/3, which rounds
    // differently half-up (4.67) and truncated (4.66).
    upload(
        store.as_ref(),
        &uni,
        &uni.mth101,
        1,
        &[(0, 30, 45), (1, 10, 25), (2, 20, 30)],
    )
    .await;
    upload(
        store.as_ref(),
        &uni,
        &uni.csc102,
        2,
        &[(0, 25, 40), (1, 30, 30)],
    )
    .await;
    upload(
        store.as_ref(),
        &uni,
        &uni.csc101,
        3,
        &[(1, 40, 60), (2, 5, 10)],
    )
    .await;
    upload(
        store.as_ref(),
        &uni,
        &uni.mth102,
        4,
        &[(0, 20, 25), (1, 22, 30)],
    )
    .await;

    // The sheets marked their students' stored results stale; nothing is recomputed yet.
    assert_eq!(
        store.stale_results().await.unwrap(),
        3,
        "students 0, 1 and 2"
    );
    assert!(store
        .semester_results(&uni.students[0])
        .await
        .unwrap()
        .is_empty());
    // A refresh under a book that is not the active one does nothing.
    let mut other = uni.book.clone();
    other.version += 1;
    assert_eq!(
        store.refresh_results(&other, 10).await.unwrap(),
        Refreshed::PolicyChanged {
            active: uni.book.version
        }
    );
    assert_eq!(store.stale_results().await.unwrap(), 3);
    // At most `limit` a refresh, oldest marks first, until none is left.
    assert_eq!(
        store.refresh_results(&uni.book, 2).await.unwrap(),
        Refreshed::Done {
            students: 2,
            left: 1
        }
    );
    assert_eq!(
        store.refresh_results(&uni.book, 2).await.unwrap(),
        Refreshed::Done {
            students: 1,
            left: 0
        }
    );
    assert_eq!(
        store.refresh_results(&uni.book, 2).await.unwrap(),
        Refreshed::Done {
            students: 0,
            left: 0
        }
    );

    for m in &uni.students[..4] {
        let records = store.student_records(m).await.unwrap();
        let keys: Vec<_> = records
            .iter()
            .map(|r| (r.session, r.semester, r.course_code.clone()))
            .collect();
        assert_eq!(
            keys,
            sorted(keys.clone()),
            "records ordered by session, semester, course"
        );
        let results = store.semester_results(m).await.unwrap();
        assert_eq!(
            results,
            expected_results(m, &records, &uni.policy),
            "results of {m}"
        );
    }
    let r0 = store.semester_results(&uni.students[0]).await.unwrap();
    assert_eq!(r0.len(), 2, "two semesters with records");
    assert_eq!(
        (r0[0].units, r0[0].weighted_points, r0[0].gpa.to_string()),
        (3, 14, "4.67".into())
    );
    assert!(store
        .semester_results(&uni.students[3])
        .await
        .unwrap()
        .is_empty());

    // The same records under another policy: recompute stores what the core says for it.
    let mut truncating = uni.policy.clone();
    truncating.gpa_rounding = GpaRounding::Truncate;
    store
        .recompute_results(&uni.students[..2], &PolicyBook::single(truncating.clone()))
        .await
        .unwrap();
    for m in &uni.students[..2] {
        let records = store.student_records(m).await.unwrap();
        let results = store.semester_results(m).await.unwrap();
        assert_eq!(
            results,
            expected_results(m, &records, &truncating),
            "recomputed {m}"
        );
    }
    assert_eq!(
        store.semester_results(&uni.students[0]).await.unwrap()[0]
            .gpa
            .to_string(),
        "4.66"
    );
    // Students not named keep their stored results.
    let r2 = store.semester_results(&uni.students[2]).await.unwrap();
    let rec2 = store.student_records(&uni.students[2]).await.unwrap();
    assert_eq!(r2, expected_results(&uni.students[2], &rec2, &uni.policy));
    store
        .recompute_results(&[], &PolicyBook::single(truncating))
        .await
        .unwrap();
}

pub async fn workflow_moves_with_a_fresh_from_state(store: Arc<dyn RecordStore>) {
    let uni = seed(store.as_ref()).await;
    let draft = store.course_result(&uni.csc101).await.unwrap();
    assert_eq!(
        (draft.term.clone(), draft.state),
        (uni.csc101.clone(), WorkflowState::Draft)
    );
    assert_eq!(
        (draft.reason.clone(), draft.updated_by.clone()),
        (None, None)
    );

    upload(
        store.as_ref(),
        &uni,
        &uni.csc101,
        1,
        &[(0, 30, 40), (1, 10, 20)],
    )
    .await;
    let states = |rs: Vec<eportal_core::model::CourseRecord>| -> Vec<WorkflowState> {
        rs.into_iter().map(|r| r.state).collect()
    };
    assert_eq!(
        states(store.course_records(&uni.csc101).await.unwrap()),
        vec![WorkflowState::Draft; 2]
    );

    let before = crate::now_ms();
    let sub = store
        .transition(
            &uni.csc101,
            WorkflowState::Draft,
            WorkflowState::Submitted,
            LECTURER,
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        (sub.state, sub.updated_by.as_deref()),
        (WorkflowState::Submitted, Some(LECTURER))
    );
    assert!(sub.updated_at_ms >= before - 1000);
    assert_eq!(store.course_result(&uni.csc101).await.unwrap(), sub);

    match store
        .transition(
            &uni.csc101,
            WorkflowState::Draft,
            WorkflowState::Submitted,
            LECTURER,
            None,
        )
        .await
    {
        Err(PortError::Conflict(_)) => {}
        other => panic!("a stale `from` must be a Conflict, got {other:?}"),
    }
    let in_submitted = store
        .course_results_in(WorkflowState::Submitted)
        .await
        .unwrap();
    assert_eq!(in_submitted, vec![sub.clone()]);
    assert!(store
        .course_results_in(WorkflowState::Published)
        .await
        .unwrap()
        .is_empty());

    let ret = store
        .transition(
            &uni.csc101,
            WorkflowState::Submitted,
            WorkflowState::Returned,
            HOD,
            Some("row 7 is wrong"),
        )
        .await
        .unwrap();
    assert_eq!(
        (ret.state, ret.reason.as_deref(), ret.updated_by.as_deref()),
        (WorkflowState::Returned, Some("row 7 is wrong"), Some(HOD))
    );
    assert_eq!(
        states(store.course_records(&uni.csc101).await.unwrap()),
        vec![WorkflowState::Returned; 2]
    );
    let recs = store.student_records(&uni.students[0]).await.unwrap();
    assert_eq!(
        states(recs),
        vec![WorkflowState::Returned],
        "student records carry the state"
    );
    assert!(store
        .course_results_in(WorkflowState::Submitted)
        .await
        .unwrap()
        .is_empty());

    // Other terms are untouched.
    assert_eq!(
        store.course_result(&uni.mth101).await.unwrap().state,
        WorkflowState::Draft
    );
    assert_invalid(
        store
            .transition(
                &term("PHY 999", 2024, eportal_core::Semester::First),
                WorkflowState::Draft,
                WorkflowState::Submitted,
                LECTURER,
                None,
            )
            .await,
        "transition of an unknown course",
    );
}

/// Concurrent reviewers: exactly one of several racing transitions from the same state wins.
pub async fn workflow_race_has_one_winner(store: Arc<dyn RecordStore>) {
    let uni = seed(store.as_ref()).await;
    let mut tasks = Vec::new();
    for i in 0..6 {
        let (s, t) = (store.clone(), uni.csc101.clone());
        tasks.push(tokio::spawn(async move {
            s.transition(
                &t,
                WorkflowState::Draft,
                WorkflowState::Submitted,
                &format!("actor-{i}"),
                None,
            )
            .await
        }));
    }
    let (mut ok, mut conflict) = (0, 0);
    for t in tasks {
        match t.await.expect("task") {
            Ok(_) => ok += 1,
            Err(PortError::Conflict(_)) => conflict += 1,
            Err(e) => panic!("unexpected error {e:?}"),
        }
    }
    assert_eq!((ok, conflict), (1, 5));
}
