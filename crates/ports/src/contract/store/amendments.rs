//! Store cases for amendments of published results: only a published result is amended; an
//! amendment's sheet is held (judged, with its changes, nothing applied) until its last
//! approval, which queues it again; applying it marks the amendment applied and its scores
//! amended, keeping the old ones in history; a rejection or an unusable sheet ends it with
//! nothing applied; a decision for a step already taken is a conflict; every step is in the
//! ledger.

use super::fixture::*;
use crate::{
    Amendment, ApplyOutcome, Approval, NewAmendment, NewSheet, PortError, RecordStore, Rejection,
    SheetMode, SheetOutcome, SheetStatus,
};
use eportal_core::amendment::{AmendmentStatus, ApprovalChain};
use eportal_core::model::CourseTerm;
use eportal_core::workflow::WorkflowState;
use eportal_core::Role;

/// Publishes the course result of `t` by moving it through every state.
async fn publish(store: &dyn RecordStore, t: &CourseTerm) {
    use WorkflowState::*;
    for (from, to) in [
        (Draft, Submitted),
        (Submitted, HodApproved),
        (HodApproved, FacultyApproved),
        (FacultyApproved, SenateApproved),
        (SenateApproved, Published),
    ] {
        store
            .transition(t, from, to, "senate1", None)
            .await
            .expect("transition");
    }
}

fn request(t: &CourseTerm, n: u64, chain: &str) -> NewAmendment {
    NewAmendment {
        sheet: NewSheet {
            term: t.clone(),
            sha256: sha(n),
            size_bytes: 64,
            filename: None,
            uploaded_by: LECTURER.into(),
            mode: SheetMode::AddRows,
            rows_estimate: Some(1),
        },
        reason: "exam script 3 was marked out of 60, not 70".into(),
        requested_by: LECTURER.into(),
        chain: ApprovalChain::parse(chain).expect("a valid chain"),
    }
}

fn approval(role: Role, by: &str) -> Approval {
    Approval {
        role,
        by: by.into(),
        at_ms: 1_700_000_000_000,
    }
}

/// (total in tenths, amended?) of student `i`'s current CSC101 record.
async fn score_of(store: &dyn RecordStore, uni: &Uni, i: usize) -> (u16, bool) {
    let r = store
        .course_records(&uni.csc101)
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.matric_no == uni.students[i])
        .expect("a record");
    (r.total.tenths(), r.amended.is_some())
}

fn conflict<T: std::fmt::Debug>(r: Result<T, PortError>, what: &str) -> String {
    match r {
        Err(PortError::Conflict(m)) => m,
        other => panic!("{what}: expected a conflict, got {other:?}"),
    }
}

/// A published CSC101 with students 0 and 1 scored, and an amendment of student 1's score
/// requested under `chain` and judged (held).
async fn requested(store: &dyn RecordStore, chain: &str) -> (Uni, Amendment) {
    let uni = seed(store).await;
    upload(store, &uni, &uni.csc101, 1, &[(0, 30, 40), (1, 20, 30)]).await;
    publish(store, &uni.csc101).await;
    let a = store
        .request_amendment(&request(&uni.csc101, 2, chain), Some("req-a"))
        .await
        .expect("request_amendment");
    let out = store
        .apply_sheet(a.sheet_id, &judged(&uni, &[(1, 20, 45)]), &uni.book)
        .await
        .unwrap();
    assert_eq!(out, ApplyOutcome::Held { removed: 0 });
    (uni, a)
}

pub async fn only_a_published_result_is_amended(store: std::sync::Arc<dyn RecordStore>) {
    let store = store.as_ref();
    let uni = seed(store).await;
    upload(store, &uni, &uni.csc101, 1, &[(0, 30, 40)]).await;
    let m = conflict(
        store
            .request_amendment(&request(&uni.csc101, 2, "senate"), None)
            .await,
        "amending a draft",
    );
    assert!(m.contains("not published"), "{m}");
    assert!(
        store.amendments_for(&uni.csc101).await.unwrap().is_empty(),
        "nothing recorded"
    );
}

pub async fn an_amendment_applies_only_after_its_last_approval(
    store: std::sync::Arc<dyn RecordStore>,
) {
    let store = store.as_ref();
    let (uni, a) = requested(store, "hod,dean,senate").await;
    assert_eq!(a.status, AmendmentStatus::Pending);
    assert_eq!(a.chain, ApprovalChain::full());
    assert_eq!(a.requested_by, LECTURER);

    // Held: the changes are there to review, the score is not changed yet.
    let sheet = store.sheet(a.sheet_id).await.unwrap().unwrap().sheet;
    assert_eq!(sheet.status, SheetStatus::Held);
    let changes = sheet.changes.expect("the changes it would make");
    assert_eq!((changes.changed, changes.added, changes.removed), (1, 0, 0));
    assert!(sheet.message.unwrap().contains("waiting for approval"));
    assert_eq!(score_of(store, &uni, 1).await, (500, false));

    // Confirming the sheet directly would bypass the reviewers: the approvals are the way.
    let hod = store
        .approve_amendment(a.id, 0, &approval(Role::Hod, "hod1"), None)
        .await
        .unwrap();
    assert_eq!(
        (hod.status, hod.approvals.len()),
        (AmendmentStatus::Pending, 1)
    );
    // The HOD's step again (a second click, a race) is a conflict.
    conflict(
        store
            .approve_amendment(a.id, 0, &approval(Role::Hod, "hod2"), None)
            .await,
        "the same step twice",
    );
    store
        .approve_amendment(a.id, 1, &approval(Role::Dean, "dean1"), None)
        .await
        .unwrap();
    assert_eq!(score_of(store, &uni, 1).await, (500, false));
    let last = store
        .approve_amendment(a.id, 2, &approval(Role::Senate, "senate1"), Some("req-s"))
        .await
        .unwrap();
    assert_eq!(last.status, AmendmentStatus::Approved);
    assert_eq!(
        last.approvals
            .iter()
            .map(|x| (x.role, x.by.as_str()))
            .collect::<Vec<_>>(),
        [
            (Role::Hod, "hod1"),
            (Role::Dean, "dean1"),
            (Role::Senate, "senate1")
        ]
    );
    let queued = store.sheet(a.sheet_id).await.unwrap().unwrap().sheet;
    assert_eq!(queued.status, SheetStatus::Queued, "queued again to apply");

    // The worker applies it: the new score, marked; the old one in history.
    let out = store
        .apply_sheet(a.sheet_id, &judged(&uni, &[(1, 20, 45)]), &uni.book)
        .await
        .unwrap();
    assert_eq!(
        out,
        ApplyOutcome::Applied {
            affected: vec![uni.students[1].clone()]
        }
    );
    assert_eq!(score_of(store, &uni, 1).await, (650, true));
    assert_eq!(
        score_of(store, &uni, 0).await,
        (700, false),
        "others unmarked"
    );
    let applied = store.amendment(a.id).await.unwrap().unwrap();
    assert_eq!(applied.status, AmendmentStatus::Applied);
    let at = applied.applied_at_ms.expect("when it was applied");
    let history = store
        .record_history(&uni.students[1], &uni.csc101)
        .await
        .unwrap();
    let totals: Vec<(u16, Option<i64>)> = history
        .iter()
        .map(|r| (r.total.tenths(), r.amended.map(|m| m.at_ms)))
        .collect();
    assert_eq!(totals, [(500, None), (650, Some(at))]);
    assert!(store.stale_results().await.unwrap() > 0, "the GPA is stale");
    refresh_all(store, &uni.book).await;
    let results = store.semester_results(&uni.students[1]).await.unwrap();
    assert!(!results.is_empty(), "the GPA was recomputed");

    // The ledger has every step, and the new score.
    let entries = store.ledger_entries(0, 1_000).await.unwrap();
    let steps: Vec<String> = entries
        .iter()
        .filter(|e| e.kind == "amendment")
        .map(|e| {
            let body: serde_json::Value = serde_json::from_str(&e.body).unwrap();
            format!("{} {}", e.actor, body["action"].as_str().unwrap())
        })
        .collect();
    assert_eq!(
        steps,
        [
            format!("{LECTURER} requested"),
            "hod1 approved".into(),
            "dean1 approved".into(),
            "senate1 approved".into(),
            "eportal applied".into()
        ]
    );
    let last_score = entries
        .iter()
        .rfind(|e| e.kind == "score")
        .expect("a score entry");
    assert_eq!(
        last_score.subject.matric_no.as_deref(),
        Some(uni.students[1].as_str())
    );
    assert!(last_score
        .body
        .contains(&format!("\"sheet_id\":{}", a.sheet_id)));
}

pub async fn a_rejected_amendment_changes_nothing(store: std::sync::Arc<dyn RecordStore>) {
    let store = store.as_ref();
    let (uni, a) = requested(store, "hod,senate").await;
    store
        .approve_amendment(a.id, 0, &approval(Role::Hod, "hod1"), None)
        .await
        .unwrap();
    let rejection = Rejection {
        role: Some(Role::Senate),
        by: "senate1".into(),
        at_ms: 1_700_000_000_500,
        reason: "the script was re-marked already".into(),
    };
    let r = store.reject_amendment(a.id, 1, &rejection).await.unwrap();
    assert_eq!(r.status, AmendmentStatus::Rejected);
    assert_eq!(r.rejection.as_ref(), Some(&rejection));
    let sheet = store.sheet(a.sheet_id).await.unwrap().unwrap().sheet;
    assert_eq!(sheet.status, SheetStatus::Rejected);
    assert!(sheet.message.unwrap().contains("re-marked already"));
    assert_eq!(score_of(store, &uni, 1).await, (500, false));
    conflict(
        store
            .approve_amendment(a.id, 1, &approval(Role::Senate, "senate2"), None)
            .await,
        "approving a rejected amendment",
    );
    assert_eq!(
        store
            .amendments_in(AmendmentStatus::Rejected)
            .await
            .unwrap()
            .iter()
            .map(|x| x.id)
            .collect::<Vec<_>>(),
        [a.id]
    );
    assert!(store
        .amendments_in(AmendmentStatus::Pending)
        .await
        .unwrap()
        .is_empty());
}

pub async fn an_amendment_is_decided_only_once_its_sheet_is_judged(
    store: std::sync::Arc<dyn RecordStore>,
) {
    let store = store.as_ref();
    let uni = seed(store).await;
    upload(store, &uni, &uni.csc101, 1, &[(0, 30, 40)]).await;
    publish(store, &uni.csc101).await;
    let a = store
        .request_amendment(&request(&uni.csc101, 2, "senate"), None)
        .await
        .unwrap();
    let m = conflict(
        store
            .approve_amendment(a.id, 0, &approval(Role::Senate, "senate1"), None)
            .await,
        "approving before the sheet is checked",
    );
    assert!(m.contains("still being checked"), "{m}");
    // An unusable file ends the amendment: nothing to approve.
    let out = store
        .apply_sheet(
            a.sheet_id,
            &SheetOutcome::Rejected {
                message: "not a spreadsheet".into(),
            },
            &uni.book,
        )
        .await
        .unwrap();
    assert_eq!(out, ApplyOutcome::Applied { affected: vec![] });
    let ended = store.amendment(a.id).await.unwrap().unwrap();
    assert_eq!(ended.status, AmendmentStatus::Rejected);
    let rejection = ended.rejection.expect("why");
    assert_eq!(
        (rejection.role, rejection.reason.as_str()),
        (None, "not a spreadsheet")
    );
    assert_eq!(
        store
            .amendments_for(&uni.csc101)
            .await
            .unwrap()
            .iter()
            .map(|x| x.id)
            .collect::<Vec<_>>(),
        [a.id]
    );
}
