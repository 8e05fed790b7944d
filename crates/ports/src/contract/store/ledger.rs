//! Store cases for the ledger: every score change and transition is appended in order with
//! its actor, an untouched ledger verifies, and tampering with the table itself — one row
//! altered, deleted or moved, or the whole chain rewritten consistently — is found and named.
//!
//! Tampering needs the engine's own SQL, so these cases take a [`Sql`] runner from the
//! adapter's tests; the statements are plain SQL both engines accept.

use super::fixture::*;
use crate::ledger::{sign_head, verify};
use crate::RecordStore;
use eportal_core::ledger::{chain, Draft, Entry, LedgerKey, Problem};
use eportal_core::workflow::WorkflowState;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// Runs one SQL statement on the store's database, as someone with write access to it would.
pub type Sql = Arc<dyn Fn(String) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

fn key() -> LedgerKey {
    LedgerKey::from_seed([11; 32])
}

async fn entries(store: &dyn RecordStore) -> Vec<Entry> {
    store
        .ledger_entries(0, 1_000)
        .await
        .expect("ledger_entries")
}

/// Three scores, then a sheet that changes one, repeats one and drops one, then a
/// transition: seven entries, the head signed.
async fn history(store: &dyn RecordStore) -> Uni {
    let uni = seed(store).await;
    upload(
        store,
        &uni,
        &uni.csc101,
        1,
        &[(0, 30, 40), (1, 10, 20), (2, 20, 30)],
    )
    .await;
    // Its lecturer confirms the removal: a held sheet is not in the ledger until applied.
    upload_confirmed(
        store,
        &uni,
        &uni.csc101,
        2,
        &[(0, 35, 40), (1, 10, 20), (3, 5, 5)],
    )
    .await;
    store
        .transition(
            &uni.csc101,
            WorkflowState::Draft,
            WorkflowState::Submitted,
            LECTURER,
            None,
        )
        .await
        .expect("transition");
    sign_head(store, &key(), 1_000).await.expect("sign_head");
    uni
}

async fn problem(store: &dyn RecordStore) -> Problem {
    verify(store, key().public())
        .await
        .expect("the ledger can be read")
        .expect_err("a tampered ledger must not verify")
}

pub async fn changes_are_appended_in_order(store: Arc<dyn RecordStore>) {
    assert_eq!(store.ledger_head().await.unwrap(), None);
    let uni = history(store.as_ref()).await;
    let es = entries(store.as_ref()).await;
    let got: Vec<(i64, &str, Option<&str>, &str)> = es
        .iter()
        .map(|e| {
            let m = e.subject.matric_no.as_deref();
            (e.seq, e.kind.as_str(), m, e.actor.as_str())
        })
        .collect();
    let m = |i: usize| Some(uni.students[i].as_str());
    assert_eq!(
        got,
        vec![
            (1, "score", m(0), LECTURER),
            (2, "score", m(1), LECTURER),
            (3, "score", m(2), LECTURER),
            (4, "score", m(0), LECTURER),
            (5, "score_removed", m(2), LECTURER),
            (6, "score", m(3), LECTURER),
            (7, "transition", None, LECTURER),
        ]
    );
    assert!(es[3].body.contains("\"ca\":350") && es[3].body.contains("\"version\":2"));
    assert!(es[6].body.contains("\"to\":\"submitted\""));
    assert_eq!(
        (
            es[0].subject.course_code.as_str(),
            es[0].subject.session,
            es[0].subject.semester
        ),
        ("CSC 101", 2024, 1)
    );
    // Reading in pages gives the same entries.
    let mut paged = store.ledger_entries(0, 3).await.unwrap();
    paged.extend(store.ledger_entries(3, 10).await.unwrap());
    assert_eq!(paged, es);
    assert_eq!(
        store.ledger_head().await.unwrap(),
        Some((7, es[6].hash.clone()))
    );

    // A redelivered sheet and a refused transition append nothing.
    let latest = store.sheets_for(&uni.csc101).await.unwrap()[0].id;
    let again = store
        .apply_sheet(latest, &judged(&uni, &[(0, 1, 1)]), &uni.book)
        .await
        .unwrap();
    assert!(matches!(again, crate::ApplyOutcome::AlreadyFinal { .. }));
    let stale = store
        .transition(
            &uni.csc101,
            WorkflowState::Draft,
            WorkflowState::Submitted,
            LECTURER,
            None,
        )
        .await;
    assert!(stale.is_err());
    assert_eq!(store.ledger_head().await.unwrap().unwrap().0, 7);
}

pub async fn signatures_are_stored_once_per_head(store: Arc<dyn RecordStore>) {
    history(store.as_ref()).await;
    let k = key();
    // The head did not move: nothing to sign.
    assert_eq!(sign_head(store.as_ref(), &k, 2_000).await.unwrap(), None);
    let sigs = store.ledger_signatures().await.unwrap();
    assert_eq!(sigs.len(), 1);
    assert_eq!((sigs[0].seq, sigs[0].key_id.clone()), (7, k.public().id()));
    assert!(k.public().verifies(&sigs[0]));
    // A second process signing the same head changes nothing.
    let twin = k.sign_head(7, &sigs[0].hash, 3_000);
    assert!(!store.add_ledger_signature(&twin).await.unwrap());
    assert_eq!(
        store.last_ledger_signature().await.unwrap(),
        Some(sigs[0].clone())
    );
}

pub async fn an_untouched_ledger_verifies(store: Arc<dyn RecordStore>) {
    let empty = verify(store.as_ref(), key().public())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(empty.entries, 0);
    history(store.as_ref()).await;
    let r = verify(store.as_ref(), key().public())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((r.entries, r.signatures, r.last_signed), (7, 1, Some(7)));
    assert_eq!(r.unsigned_after, 0);
}

pub async fn an_altered_row_is_named(store: Arc<dyn RecordStore>, sql: Sql) {
    history(store.as_ref()).await;
    sql("UPDATE ledger SET body = replace(body, '\"ca\":', '\"ca\":9') WHERE seq = 4".into()).await;
    let p = problem(store.as_ref()).await;
    assert!(matches!(p, Problem::Altered { seq: 4, .. }), "{p}");
    assert!(
        p.to_string().contains("seq 4") && p.to_string().contains("altered"),
        "{p}"
    );
}

pub async fn a_deleted_row_is_named(store: Arc<dyn RecordStore>, sql: Sql) {
    history(store.as_ref()).await;
    sql("DELETE FROM ledger WHERE seq = 5".into()).await;
    let p = problem(store.as_ref()).await;
    assert!(matches!(p, Problem::Missing { expected: 5, .. }), "{p}");
    assert!(p.to_string().contains("seq 5 is missing"), "{p}");
}

pub async fn a_deleted_head_is_named(store: Arc<dyn RecordStore>, sql: Sql) {
    history(store.as_ref()).await;
    sql("DELETE FROM ledger WHERE seq = 7".into()).await;
    let p = problem(store.as_ref()).await;
    assert!(matches!(p, Problem::Missing { expected: 7, .. }), "{p}");
}

pub async fn swapped_rows_are_named(store: Arc<dyn RecordStore>, sql: Sql) {
    history(store.as_ref()).await;
    // Row by row: both engines check the primary key after each statement.
    sql("UPDATE ledger SET seq = -1 WHERE seq = 2".into()).await;
    sql("UPDATE ledger SET seq = 2 WHERE seq = 3".into()).await;
    sql("UPDATE ledger SET seq = 3 WHERE seq = -1".into()).await;
    let p = problem(store.as_ref()).await;
    assert!(matches!(p, Problem::OutOfOrder { seq: 2, .. }), "{p}");
    assert!(p.to_string().contains("out of order"), "{p}");
}

pub async fn a_rewritten_chain_fails_the_signature_check(store: Arc<dyn RecordStore>, sql: Sql) {
    history(store.as_ref()).await;
    // Someone with the whole table: alter entry 2 and recompute every hash from there on.
    let old = entries(store.as_ref()).await;
    let drafts: Vec<Draft> = old[1..]
        .iter()
        .map(|e| Draft {
            at_ms: e.at_ms,
            actor: e.actor.clone(),
            kind: e.kind.clone(),
            subject: e.subject.clone(),
            body: if e.seq == 2 {
                e.body.replace("\"grade\":\"F\"", "\"grade\":\"A\"")
            } else {
                e.body.clone()
            },
        })
        .collect();
    assert_ne!(drafts[0].body, old[1].body, "the forgery changes something");
    for e in chain(Some((1, &old[0].hash)), drafts) {
        let q = |s: &str| s.replace('\'', "''");
        sql(format!(
            "UPDATE ledger SET body = '{}', prev_hash = '{}', hash = '{}' WHERE seq = {}",
            q(&e.body),
            q(&e.prev_hash),
            q(&e.hash),
            e.seq
        ))
        .await;
    }
    // The chain is consistent: only the signature shows the rewrite.
    let p = problem(store.as_ref()).await;
    assert!(
        matches!(p, Problem::SignedHashDiffers { seq: 7, .. }),
        "{p}"
    );
    assert!(p.to_string().contains("signature does not match"), "{p}");

    // Deleting the signatures does not help the forger either.
    sql("DELETE FROM ledger_signatures".into()).await;
    let p = problem(store.as_ref()).await;
    assert!(matches!(p, Problem::Unsigned { head: 7, .. }), "{p}");
}

pub async fn concurrent_changes_make_one_chain(store: Arc<dyn RecordStore>) {
    let uni = Arc::new(seed(store.as_ref()).await);
    let terms = [
        uni.csc101.clone(),
        uni.mth101.clone(),
        uni.csc102.clone(),
        uni.mth102.clone(),
    ];
    let mut tasks = Vec::new();
    for (i, t) in terms.into_iter().enumerate() {
        let (store, uni) = (store.clone(), uni.clone());
        tasks.push(tokio::spawn(async move {
            let n = 10 + i as u64;
            upload(store.as_ref(), &uni, &t, n, &[(0, 20, 30), (1, 25, 35)]).await;
            store
                .transition(
                    &t,
                    WorkflowState::Draft,
                    WorkflowState::Submitted,
                    LECTURER,
                    None,
                )
                .await
                .expect("transition");
        }));
    }
    for t in tasks {
        t.await.expect("a writer finished");
    }
    sign_head(store.as_ref(), &key(), 1).await.unwrap();
    let r = verify(store.as_ref(), key().public()).await.unwrap();
    assert_eq!(
        r.map(|r| r.entries),
        Ok(12),
        "one unbroken chain of every change"
    );
}
