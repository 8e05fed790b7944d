//! Store cases for what a sheet may do to the scores a course already has: a replacing sheet
//! that would remove scores is held until the lecturer confirms, with what it would add,
//! change and remove; "add rows" sheets add to the scores and remove nobody; the earlier file
//! uploaded again after another superseded it is a new sheet that makes it current again.

use super::fixture::*;
use crate::{ApplyOutcome, PortError, RecordStore, SheetMode, SheetStatus};
use std::sync::Arc;

/// (matric, total in tenths) of the course term's current records, in matric order.
async fn current(store: &dyn RecordStore, uni: &Uni) -> Vec<(String, u16)> {
    let mut v: Vec<(String, u16)> = store
        .course_records(&uni.csc101)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.matric_no.to_string(), r.total.tenths()))
        .collect();
    v.sort();
    v
}

pub async fn removing_scores_waits_for_confirmation(store: Arc<dyn RecordStore>) {
    let store = store.as_ref();
    let uni = seed(store).await;
    upload(
        store,
        &uni,
        &uni.csc101,
        1,
        &[(0, 30, 40), (1, 20, 30), (2, 10, 20)],
    )
    .await;
    let before = current(store, &uni).await;

    // The second sheet leaves two students off, changes one and adds one.
    let second = submit(store, &uni.csc101, 2).await;
    let fewer = judged(&uni, &[(0, 35, 40), (3, 10, 10)]);
    let apply = || store.apply_sheet(second.id, &fewer, &uni.book);
    let out = apply().await.unwrap();
    assert_eq!(out, ApplyOutcome::Held { removed: 2 });
    assert_eq!(
        current(store, &uni).await,
        before,
        "nothing applied while held"
    );
    let held = store.sheet(second.id).await.unwrap().unwrap().sheet;
    assert_eq!(held.status, SheetStatus::Held);
    let changes = held.changes.expect("the changes it would make");
    assert_eq!(
        (
            changes.added,
            changes.changed,
            changes.unchanged,
            changes.removed
        ),
        (1, 1, 0, 2)
    );
    assert_eq!(changes.changed_matrics, [uni.students[0].to_string()]);
    assert_eq!(
        changes.removed_matrics,
        [uni.students[1].to_string(), uni.students[2].to_string()]
    );
    let message = held.message.expect("why it is held");
    assert!(
        message.contains("remove the scores of 2 students"),
        "{message}"
    );
    // A redelivered job changes nothing: held is final for a job.
    let again = apply().await.unwrap();
    assert_eq!(
        again,
        ApplyOutcome::AlreadyFinal {
            status: SheetStatus::Held
        }
    );

    // Confirmed: queued again, then applied removals and all.
    let confirmed = store.confirm_sheet(second.id, Some("req-c")).await.unwrap();
    assert_eq!(confirmed.status, SheetStatus::Queued);
    assert!(confirmed.removals_confirmed);
    let out = apply().await.unwrap();
    assert!(matches!(out, ApplyOutcome::Applied { .. }), "{out:?}");
    assert_eq!(
        current(store, &uni).await,
        vec![
            (uni.students[0].to_string(), 750),
            (uni.students[3].to_string(), 200)
        ]
    );
    let done = store.sheet(second.id).await.unwrap().unwrap().sheet;
    assert_eq!(done.status, SheetStatus::Processed);
    assert_eq!(done.changes.map(|c| c.removed), Some(2));
    assert_eq!(done.message, None);

    // Only a held sheet can be confirmed.
    match store.confirm_sheet(second.id, None).await {
        Err(PortError::Conflict(m)) => assert!(m.contains("not held"), "{m}"),
        other => panic!("confirming a processed sheet: {other:?}"),
    }
    match store.confirm_sheet(second.id + 1000, None).await {
        Err(PortError::NotFound(_)) => {}
        other => panic!("confirming a sheet that does not exist: {other:?}"),
    }
}

pub async fn add_rows_sheets_add_to_the_scores(store: Arc<dyn RecordStore>) {
    let store = store.as_ref();
    let uni = seed(store).await;
    // A class list split over three files: the first replaces, the others add rows.
    upload(store, &uni, &uni.csc101, 1, &[(0, 30, 40), (1, 20, 30)]).await;
    for (n, scores) in [(2, [(2, 10, 20)]), (3, [(3, 15, 25)])] {
        let part = submit_as(store, &uni.csc101, n, SheetMode::AddRows).await;
        assert_eq!(part.mode, SheetMode::AddRows);
        let out = store
            .apply_sheet(part.id, &judged(&uni, &scores), &uni.book)
            .await
            .unwrap();
        assert!(matches!(out, ApplyOutcome::Applied { .. }), "{out:?}");
        let c = store.sheet(part.id).await.unwrap().unwrap().sheet.changes;
        assert_eq!(c.map(|c| (c.added, c.removed)), Some((1, 0)));
    }
    assert_eq!(
        current(store, &uni).await,
        vec![
            (uni.students[0].to_string(), 700),
            (uni.students[1].to_string(), 500),
            (uni.students[2].to_string(), 300),
            (uni.students[3].to_string(), 400),
        ]
    );
    // Every part stays processed: together they are the course's scores.
    let statuses: Vec<SheetStatus> = store
        .sheets_for(&uni.csc101)
        .await
        .unwrap()
        .iter()
        .map(|s| s.status)
        .collect();
    assert_eq!(statuses, [SheetStatus::Processed; 3]);
}

pub async fn the_earlier_file_uploaded_again_is_current_again(store: Arc<dyn RecordStore>) {
    let store = store.as_ref();
    let uni = seed(store).await;
    let everyone = [(0, 30, 40), (1, 20, 30)];
    let (first, _) = upload(store, &uni, &uni.csc101, 1, &everyone).await;
    let (second, _) = upload(store, &uni, &uni.csc101, 2, &[(0, 10, 10), (1, 10, 10)]).await;
    let superseded = store.sheet(first).await.unwrap().unwrap().sheet;
    assert_eq!(superseded.status, SheetStatus::Superseded);

    // The same bytes again: a new sheet (not the superseded one), which applies as usual.
    let again = submit(store, &uni.csc101, 1).await;
    assert_ne!(again.id, first);
    assert_eq!(again.status, SheetStatus::Queued);
    let out = store
        .apply_sheet(again.id, &judged(&uni, &everyone), &uni.book)
        .await
        .unwrap();
    assert!(matches!(out, ApplyOutcome::Applied { .. }), "{out:?}");
    assert_eq!(
        current(store, &uni).await,
        vec![
            (uni.students[0].to_string(), 700),
            (uni.students[1].to_string(), 500)
        ]
    );
    let second_now = store.sheet(second).await.unwrap().unwrap().sheet;
    assert_eq!(
        (second_now.status, second_now.superseded_by),
        (SheetStatus::Superseded, Some(again.id))
    );
    // While it is current, the same bytes are still the same sheet.
    let (same, created) = store
        .submit_sheet(
            &crate::NewSheet {
                term: uni.csc101.clone(),
                sha256: sha(1),
                size_bytes: 101,
                filename: None,
                uploaded_by: LECTURER.into(),
                mode: SheetMode::Replace,
                rows_estimate: None,
            },
            None,
        )
        .await
        .unwrap();
    assert!(!created);
    assert_eq!(same.id, again.id);
}
