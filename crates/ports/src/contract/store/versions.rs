//! Store cases for later sheets of a term: versioned changes, students dropped from a newer
//! sheet, late older sheets, rejected files and failed jobs. The current records of a term
//! must always be the latest applied sheet's accepted rows, with history kept.

use super::fixture::*;
use crate::{ApplyOutcome, RecordStore, SheetOutcome, SheetStatus};
use std::collections::HashSet;
use std::sync::Arc;

pub async fn newer_sheet_versions_changed_scores(store: Arc<dyn RecordStore>) {
    let uni = seed(store.as_ref()).await;
    let (s1, _) = upload(
        store.as_ref(),
        &uni,
        &uni.csc101,
        1,
        &[(0, 30, 40), (1, 10, 20), (2, 20, 20)],
    )
    .await;
    refresh_all(store.as_ref(), &uni.book).await;
    assert!(!store
        .semester_results(&uni.students[2])
        .await
        .unwrap()
        .is_empty());
    // Student 0's score changes, student 1's stays, student 2 is dropped from the new sheet
    // (which its lecturer confirms).
    let (s2, out) = upload_confirmed(
        store.as_ref(),
        &uni,
        &uni.csc101,
        2,
        &[(0, 35, 45), (1, 10, 20)],
    )
    .await;
    let ApplyOutcome::Applied { affected } = out else {
        panic!("expected Applied, got {out:?}")
    };
    let affected: HashSet<_> = affected.into_iter().collect();
    assert!(
        affected.contains(&uni.students[0]),
        "a changed score is affected"
    );
    assert!(
        affected.contains(&uni.students[2]),
        "a dropped student is affected"
    );
    assert!(
        !affected.contains(&uni.students[3]),
        "students on neither sheet are not"
    );

    let first = store.sheet(s1).await.unwrap().expect("stored").sheet;
    assert_eq!(
        (first.status, first.superseded_by),
        (SheetStatus::Superseded, Some(s2))
    );
    let second = store.sheet(s2).await.unwrap().expect("stored").sheet;
    assert_eq!(
        (second.status, second.superseded_by),
        (SheetStatus::Processed, None)
    );

    let current = store.course_records(&uni.csc101).await.unwrap();
    let of = |i: usize| current.iter().find(|r| r.matric_no == uni.students[i]);
    let r0 = of(0).expect("student 0 has a current record");
    assert_eq!((r0.total.tenths(), r0.version, r0.sheet_id), (800, 2, s2));
    assert_eq!((r0.grade.as_str(), r0.points), ("A", 5));
    let r1 = of(1).expect("student 1 has a current record");
    assert_eq!(
        (r1.total.tenths(), r1.version),
        (300, 1),
        "an unchanged score keeps its version"
    );
    assert!(
        of(2).is_none(),
        "a student dropped from the newer sheet loses the current record"
    );
    assert_eq!(current.len(), 2);

    let h0 = store
        .record_history(&uni.students[0], &uni.csc101)
        .await
        .unwrap();
    let versions: Vec<(u32, i64, u16)> = h0
        .iter()
        .map(|r| (r.version, r.sheet_id, r.total.tenths()))
        .collect();
    assert_eq!(
        versions,
        vec![(1, s1, 700), (2, s2, 800)],
        "history keeps both, oldest first"
    );
    let h2 = store
        .record_history(&uni.students[2], &uni.csc101)
        .await
        .unwrap();
    assert_eq!(
        h2.len(),
        1,
        "the dropped student's history keeps the old score"
    );
    assert_eq!((h2[0].total.tenths(), h2[0].sheet_id), (400, s1));
    assert!(store
        .student_records(&uni.students[2])
        .await
        .unwrap()
        .is_empty());
    refresh_all(store.as_ref(), &uni.book).await;
    let results = store.semester_results(&uni.students[2]).await.unwrap();
    assert!(
        results.is_empty(),
        "no current records, no semester results: {results:?}"
    );
    assert!(store
        .record_history(&uni.students[4], &uni.csc101)
        .await
        .unwrap()
        .is_empty());
}

pub async fn older_sheet_applied_late_is_superseded(store: Arc<dyn RecordStore>) {
    let uni = seed(store.as_ref()).await;
    let old = submit(store.as_ref(), &uni.csc101, 1).await;
    let new = submit(store.as_ref(), &uni.csc101, 2).await;
    let out = store
        .apply_sheet(new.id, &judged(&uni, &[(0, 30, 40)]), &uni.book)
        .await
        .unwrap();
    assert!(matches!(out, ApplyOutcome::Applied { .. }), "{out:?}");
    let late = store
        .apply_sheet(old.id, &judged(&uni, &[(0, 1, 1), (1, 2, 2)]), &uni.book)
        .await
        .unwrap();
    assert_eq!(late, ApplyOutcome::SupersededAlready { by: new.id });
    let old = store.sheet(old.id).await.unwrap().expect("stored").sheet;
    assert_eq!(
        (old.status, old.superseded_by),
        (SheetStatus::Superseded, Some(new.id))
    );
    let current = store.course_records(&uni.csc101).await.unwrap();
    assert_eq!(
        current.len(),
        1,
        "none of the older sheet's rows were applied"
    );
    assert_eq!(
        (current[0].total.tenths(), current[0].sheet_id),
        (700, new.id)
    );
    assert_eq!(
        store
            .record_history(&uni.students[1], &uni.csc101)
            .await
            .unwrap()
            .len(),
        0
    );
}

pub async fn rejected_sheet_applies_nothing(store: Arc<dyn RecordStore>) {
    let uni = seed(store.as_ref()).await;
    let (good, _) = upload(store.as_ref(), &uni, &uni.csc101, 1, &[(0, 30, 40)]).await;
    let bad = submit(store.as_ref(), &uni.csc101, 2).await;
    let out = store
        .apply_sheet(
            bad.id,
            &SheetOutcome::Rejected {
                message: "no header row".into(),
            },
            &uni.book,
        )
        .await
        .unwrap();
    assert_eq!(out, ApplyOutcome::Applied { affected: vec![] });
    let bad = store.sheet(bad.id).await.unwrap().expect("stored");
    assert_eq!(bad.sheet.status, SheetStatus::Rejected);
    assert_eq!(bad.sheet.message.as_deref(), Some("no header row"));
    assert!(bad.row_errors.is_empty());
    let good = store.sheet(good).await.unwrap().expect("stored").sheet;
    assert_eq!(
        good.status,
        SheetStatus::Processed,
        "an unusable file replaces nothing"
    );
    let current = store.course_records(&uni.csc101).await.unwrap();
    assert_eq!((current.len(), current[0].sheet_id), (1, good.id));
    let again = store
        .apply_sheet(bad.sheet.id, &judged(&uni, &[(1, 1, 1)]), &uni.book)
        .await
        .unwrap();
    assert_eq!(
        again,
        ApplyOutcome::AlreadyFinal {
            status: SheetStatus::Rejected
        }
    );
}

pub async fn fail_sheet_marks_it_failed(store: Arc<dyn RecordStore>) {
    let uni = seed(store.as_ref()).await;
    let s = submit(store.as_ref(), &uni.mth101, 1).await;
    store
        .fail_sheet(s.id, "gave up after 5 attempts: blob missing")
        .await
        .unwrap();
    let got = store.sheet(s.id).await.unwrap().expect("stored").sheet;
    assert_eq!(got.status, SheetStatus::Failed);
    assert_eq!(
        got.message.as_deref(),
        Some("gave up after 5 attempts: blob missing")
    );
    let out = store
        .apply_sheet(s.id, &judged(&uni, &[(0, 30, 40)]), &uni.book)
        .await
        .unwrap();
    assert_eq!(
        out,
        ApplyOutcome::AlreadyFinal {
            status: SheetStatus::Failed
        }
    );
    assert!(store.course_records(&uni.mth101).await.unwrap().is_empty());
    assert_not_found(
        store.fail_sheet(s.id + 1000, "x").await,
        "fail of an unknown sheet",
    );
}

pub async fn all_sheets_are_paged_newest_first_and_filtered(store: Arc<dyn RecordStore>) {
    let uni = seed(store.as_ref()).await;
    let (page, total) = store.all_sheets(None, 10, 0).await.unwrap();
    assert!(page.is_empty());
    assert_eq!(total, 0);
    let mut ids = Vec::new();
    for n in 1..=5 {
        ids.push(submit(store.as_ref(), &uni.mth101, n).await.id);
    }
    store
        .fail_sheet(ids[1], "gave up: blob missing")
        .await
        .unwrap();
    store
        .fail_sheet(ids[3], "gave up: parser died")
        .await
        .unwrap();

    let (page, total) = store.all_sheets(None, 2, 0).await.unwrap();
    assert_eq!(total, 5);
    assert_eq!(
        page.iter().map(|s| s.id).collect::<Vec<_>>(),
        [ids[4], ids[3]]
    );
    let (page, _) = store.all_sheets(None, 2, 4).await.unwrap();
    assert_eq!(page.iter().map(|s| s.id).collect::<Vec<_>>(), [ids[0]]);

    let (failed, total) = store
        .all_sheets(Some(SheetStatus::Failed), 10, 0)
        .await
        .unwrap();
    assert_eq!(total, 2);
    assert_eq!(
        failed
            .iter()
            .map(|s| (s.id, s.message.as_deref()))
            .collect::<Vec<_>>(),
        [
            (ids[3], Some("gave up: parser died")),
            (ids[1], Some("gave up: blob missing"))
        ]
    );
    let (queued, total) = store
        .all_sheets(Some(SheetStatus::Queued), 10, 0)
        .await
        .unwrap();
    assert_eq!(total, 3);
    assert!(queued.iter().all(|s| s.status == SheetStatus::Queued));
    let (none, total) = store
        .all_sheets(Some(SheetStatus::Processed), 10, 0)
        .await
        .unwrap();
    assert!(none.is_empty());
    assert_eq!(total, 0);
}

pub async fn retries_are_counted_with_the_latest_error(store: Arc<dyn RecordStore>) {
    let uni = seed(store.as_ref()).await;
    let a = submit(store.as_ref(), &uni.mth101, 1).await.id;
    let b = submit(store.as_ref(), &uni.mth101, 2).await.id;
    assert!(store.sheet_retries(&[a, b]).await.unwrap().is_empty());
    store.note_retry(a, "database unavailable").await.unwrap();
    store.note_retry(a, "blob store unavailable").await.unwrap();
    assert_eq!(
        store.sheet_retries(&[a, b]).await.unwrap(),
        [(a, 2, "blob store unavailable".to_string())]
    );
    store.note_retry(b, "database unavailable").await.unwrap();
    assert_eq!(
        store.sheet_retries(&[b]).await.unwrap(),
        [(b, 1, "database unavailable".to_string())]
    );
    assert!(store.sheet_retries(&[]).await.unwrap().is_empty());
}
