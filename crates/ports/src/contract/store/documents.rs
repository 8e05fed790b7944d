//! Store cases for issued documents: recorded as given, found by code, revoked once (the
//! first revocation stands), and a student that does not exist refused.

use super::fixture::*;
use crate::documents::{DocumentKind, IssuedDocument, Revocation};
use crate::{PortError, RecordStore};
use eportal_core::Semester;
use std::sync::Arc;

fn doc(uni: &Uni, code: &str, kind: DocumentKind) -> IssuedDocument {
    IssuedDocument {
        code: code.into(),
        kind,
        matric_no: uni.students[0].clone(),
        issued_by: "registry".into(),
        issued_at_ms: 1_700_000_000_123,
        // Non-ASCII content must come back byte for byte.
        content: r#"{"name":"Adébáyo Ọ̀kẹ́","semesters":[]}"#.into(),
        content_sha256: sha(7),
        revoked: None,
    }
}

pub async fn documents_round_trip_by_code(store: Arc<dyn RecordStore>) {
    let uni = seed(store.as_ref()).await;
    let transcript = doc(&uni, "7K2D9QXM4T1VBC3N", DocumentKind::Transcript);
    let slip = doc(
        &uni,
        "00000000000000ZZ",
        DocumentKind::Slip {
            session: session(2023),
            semester: Semester::Second,
        },
    );
    store.record_document(&transcript).await.unwrap();
    store.record_document(&slip).await.unwrap();
    assert_eq!(
        store.document(&transcript.code).await.unwrap(),
        Some(transcript.clone())
    );
    assert_eq!(store.document(&slip.code).await.unwrap(), Some(slip));
    assert_eq!(store.document("NOSUCHCODE000000").await.unwrap(), None);
    match store.record_document(&transcript).await {
        Err(PortError::Conflict(_)) => {}
        other => panic!("a code recorded twice: expected Conflict, got {other:?}"),
    }
}

pub async fn documents_of_unknown_students_are_invalid(store: Arc<dyn RecordStore>) {
    let uni = seed(store.as_ref()).await;
    let mut d = doc(&uni, "AAAAAAAAAAAAAAAA", DocumentKind::Transcript);
    d.matric_no = matric("ZZZ/1999/9999");
    assert_invalid(
        store.record_document(&d).await,
        "document of an unknown student",
    );
}

pub async fn revocation_is_kept_once(store: Arc<dyn RecordStore>) {
    let uni = seed(store.as_ref()).await;
    let d = doc(&uni, "BBBBBBBBBBBBBBBB", DocumentKind::Transcript);
    store.record_document(&d).await.unwrap();
    let first = Revocation {
        at_ms: 1_700_000_100_000,
        by: "admin".into(),
        reason: "issued to the wrong person".into(),
    };
    let revoked = store.revoke_document(&d.code, &first).await.unwrap();
    assert_eq!(revoked.revoked, Some(first.clone()));
    assert_eq!(revoked.content, d.content, "revocation keeps what it said");
    let again = Revocation {
        at_ms: 1_700_000_200_000,
        by: "someone-else".into(),
        reason: "second thoughts".into(),
    };
    let still = store.revoke_document(&d.code, &again).await.unwrap();
    assert_eq!(
        still.revoked,
        Some(first.clone()),
        "the first revocation stands"
    );
    assert_eq!(
        store.document(&d.code).await.unwrap().unwrap().revoked,
        Some(first)
    );
    assert_not_found(
        store.revoke_document("CCCCCCCCCCCCCCCC", &again).await,
        "revoking an unknown code",
    );
}
