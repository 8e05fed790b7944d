//! Store cases for sheets: submission (idempotent by term and SHA-256) and applying a
//! first decision (rows, row errors, counts) that a redelivered job cannot change.

use super::fixture::*;
use crate::{ApplyOutcome, NewSheet, RecordStore, SheetOutcome, SheetStatus};
use eportal_core::sheet::RowErrorKind;
use eportal_core::Semester;
use std::sync::Arc;

pub async fn submit_sheet_is_idempotent_by_term_and_sha(store: Arc<dyn RecordStore>) {
    let uni = seed(store.as_ref()).await;
    let before = crate::now_ms();
    let new = NewSheet {
        term: uni.csc101.clone(),
        sha256: sha(1),
        size_bytes: 2048,
        filename: Some("csc101.xlsx".into()),
        uploaded_by: LECTURER.into(),
        mode: crate::SheetMode::Replace,
        rows_estimate: None,
    };
    let (first, created) = store.submit_sheet(&new, Some("req-a")).await.unwrap();
    assert!(created);
    assert_eq!(first.status, SheetStatus::Queued);
    assert_eq!(
        (first.term.clone(), first.sha256.clone(), first.size_bytes),
        (new.term.clone(), new.sha256.clone(), 2048)
    );
    assert_eq!(first.filename.as_deref(), Some("csc101.xlsx"));
    assert_eq!(first.uploaded_by, LECTURER);
    assert!(
        first.uploaded_at_ms >= before - 1000,
        "uploaded_at_ms is a unix-ms time"
    );
    assert_eq!(
        (first.rows_total, first.rows_accepted, first.rows_rejected),
        (0, 0, 0)
    );
    assert_eq!(
        (
            first.message.clone(),
            first.processed_at_ms,
            first.superseded_by
        ),
        (None, None, None)
    );

    let (again, created) = store.submit_sheet(&new, Some("req-b")).await.unwrap();
    assert!(
        !created,
        "the same bytes for the same term are the same sheet"
    );
    assert_eq!(again, first);

    let other_term = NewSheet {
        term: uni.mth101.clone(),
        ..new.clone()
    };
    let (other, created) = store.submit_sheet(&other_term, None).await.unwrap();
    assert!(
        created,
        "the same bytes for another course are another sheet"
    );
    assert_ne!(other.id, first.id);
    let newer = NewSheet {
        sha256: sha(2),
        ..new.clone()
    };
    let (second, created) = store.submit_sheet(&newer, None).await.unwrap();
    assert!(created);
    assert!(second.id > first.id, "later sheets get larger ids");

    let listed: Vec<i64> = store
        .sheets_for(&uni.csc101)
        .await
        .unwrap()
        .iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(listed, vec![second.id, first.id], "newest first");
    let report = store.sheet(first.id).await.unwrap().expect("stored");
    assert_eq!(report.sheet, first);
    assert!(report.row_errors.is_empty());
    assert!(store.sheet(first.id + 1000).await.unwrap().is_none());
    assert!(store.sheets_for(&uni.mth102).await.unwrap().is_empty());

    let unknown = NewSheet {
        term: term("PHY 999", 2024, Semester::First),
        ..new
    };
    assert_invalid(
        store.submit_sheet(&unknown, None).await,
        "sheet for an unknown course",
    );
}

pub async fn apply_stores_rows_errors_and_counts(store: Arc<dyn RecordStore>) {
    let uni = seed(store.as_ref()).await;
    let s = submit(store.as_ref(), &uni.csc101, 1).await;
    let before = crate::now_ms();
    let outcome = SheetOutcome::Judged {
        accepted: vec![
            row(&uni.policy, 2, &uni.students[0], 35, 50),
            row(&uni.policy, 3, &uni.students[1], 20, 25),
        ],
        rejected: vec![
            row_error(4, "SCI/2024/0003", RowErrorKind::Absent),
            row_error(5, "SCI/2024/0999", RowErrorKind::UnknownStudent),
            row_error(6, "???", RowErrorKind::InvalidMatric),
        ],
    };
    let applied = store.apply_sheet(s.id, &outcome, &uni.book).await.unwrap();
    match applied {
        ApplyOutcome::Applied { affected } => assert_eq!(
            sorted(affected),
            vec![uni.students[0].clone(), uni.students[1].clone()]
        ),
        other => panic!("expected Applied, got {other:?}"),
    }
    let report = store.sheet(s.id).await.unwrap().expect("stored");
    assert_eq!(report.sheet.status, SheetStatus::Processed);
    assert_eq!(
        (
            report.sheet.rows_total,
            report.sheet.rows_accepted,
            report.sheet.rows_rejected
        ),
        (5, 2, 3)
    );
    assert!(report.sheet.processed_at_ms.expect("processed_at set") >= before - 1000);
    let SheetOutcome::Judged { accepted, rejected } = &outcome else {
        unreachable!()
    };
    let mut errors = report.row_errors.clone();
    errors.sort_by_key(|e| e.row);
    assert_eq!(&errors, rejected, "row errors come back as stored");

    let records = store.course_records(&uni.csc101).await.unwrap();
    assert_eq!(records.len(), 2);
    for a in accepted {
        let r = records
            .iter()
            .find(|r| r.matric_no == a.matric)
            .expect("record per row");
        assert_eq!((r.ca, r.exam, r.total), (a.ca, a.exam, a.total));
        assert_eq!((r.grade.as_str(), r.points), (a.grade.as_str(), a.points));
        assert_eq!((r.version, r.sheet_id), (1, s.id));
        assert_eq!(
            (r.units, r.course_title.as_str()),
            (3, "Introduction to CSC 101")
        );
        assert_eq!(
            (&r.course_code, r.session, r.semester),
            (
                &uni.csc101.course_code,
                uni.csc101.session,
                uni.csc101.semester
            )
        );
    }
    assert_eq!(
        store.student_records(&uni.students[0]).await.unwrap().len(),
        1
    );
    assert!(store
        .student_records(&uni.students[2])
        .await
        .unwrap()
        .is_empty());
}

pub async fn apply_is_idempotent_on_a_final_sheet(store: Arc<dyn RecordStore>) {
    let uni = seed(store.as_ref()).await;
    let (id, _) = upload(
        store.as_ref(),
        &uni,
        &uni.csc101,
        1,
        &[(0, 30, 40), (1, 10, 20)],
    )
    .await;
    let before = store.course_records(&uni.csc101).await.unwrap();
    let report = store.sheet(id).await.unwrap();
    // A redelivered job carries the same decision, or (after a code change) a different one.
    for outcome in [
        judged(&uni, &[(0, 30, 40), (1, 10, 20)]),
        judged(&uni, &[(0, 1, 1)]),
        SheetOutcome::Rejected {
            message: "late".into(),
        },
    ] {
        let again = store.apply_sheet(id, &outcome, &uni.book).await.unwrap();
        assert_eq!(
            again,
            ApplyOutcome::AlreadyFinal {
                status: SheetStatus::Processed
            }
        );
    }
    assert_eq!(store.course_records(&uni.csc101).await.unwrap(), before);
    assert_eq!(store.sheet(id).await.unwrap(), report);
    assert_eq!(
        store
            .record_history(&uni.students[0], &uni.csc101)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_not_found(
        store
            .apply_sheet(id + 1000, &judged(&uni, &[]), &uni.book)
            .await,
        "apply of an unknown sheet",
    );
}
