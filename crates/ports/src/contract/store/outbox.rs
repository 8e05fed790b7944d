//! Outbox cases: for stores whose jobs wait in an outbox for a relay (PostgreSQL). A store
//! whose jobs table *is* the queue (SQLite) has no outbox and does not run these.

use super::fixture::*;
use crate::{NewSheet, RecordStore};
use eportal_core::discipline::JobMeta;
use eportal_core::jobs::{Envelope, Job};
use std::sync::Arc;

pub async fn submit_writes_exactly_one_outbox_entry(store: Arc<dyn RecordStore>) {
    let uni = seed(store.as_ref()).await;
    assert!(store.outbox_pending(10).await.unwrap().is_empty());
    let new = NewSheet {
        term: uni.csc101.clone(),
        sha256: sha(1),
        size_bytes: 10,
        filename: None,
        uploaded_by: LECTURER.into(),
        mode: crate::SheetMode::Replace,
        rows_estimate: Some(7),
    };
    let (s, _) = store.submit_sheet(&new, Some("req-42")).await.unwrap();
    store.submit_sheet(&new, Some("req-43")).await.unwrap();
    let pending = store.outbox_pending(10).await.unwrap();
    assert_eq!(pending.len(), 1, "a resubmitted sheet writes no second job");
    // The job carries the upload's row count and the course's department for the disciplines.
    let meta = JobMeta {
        rows: Some(7),
        class: Some("CSC".into()),
        background: false,
    };
    assert_eq!(
        pending[0].1,
        Envelope::new(Job::ProcessSheet { sheet_id: s.id }, Some("req-42".into())).with_meta(meta)
    );
}

pub async fn outbox_is_oldest_first_and_done_removes(store: Arc<dyn RecordStore>) {
    let uni = seed(store.as_ref()).await;
    let mut ids = Vec::new();
    for n in 1..=4 {
        ids.push(submit(store.as_ref(), &uni.csc101, n).await.id);
    }
    let sheet_of = |e: &Envelope| match e.job {
        Job::ProcessSheet { sheet_id } => sheet_id,
        ref other => panic!("only sheet jobs were written, got {other:?}"),
    };
    let first = store.outbox_pending(3).await.unwrap();
    assert_eq!(
        first.iter().map(|(_, e)| sheet_of(e)).collect::<Vec<_>>(),
        ids[..3].to_vec()
    );
    let done: Vec<i64> = first.iter().take(2).map(|(id, _)| *id).collect();
    store.outbox_done(&done).await.unwrap();
    store.outbox_done(&done).await.unwrap();
    let rest = store.outbox_pending(10).await.unwrap();
    assert_eq!(
        rest.iter().map(|(_, e)| sheet_of(e)).collect::<Vec<_>>(),
        ids[2..].to_vec()
    );
    store.outbox_done(&[]).await.unwrap();
    store
        .outbox_done(&rest.iter().map(|(id, _)| *id).collect::<Vec<_>>())
        .await
        .unwrap();
    assert!(store.outbox_pending(10).await.unwrap().is_empty());
}
