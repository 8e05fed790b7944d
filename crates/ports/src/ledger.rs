//! The ledger port: reading the hash-chained ledger that stores append to in the same
//! transaction as each score change and workflow transition, and keeping the signatures of
//! its head. Appending is not here: it happens inside `apply_sheet` and `transition`, never
//! on its own, so no caller can write an entry without the change it records.
//!
//! [`verify`] and [`sign_head`] are the two uses, written once over the port for the CLI,
//! the application's signer and the contract suite.

use crate::error::PortResult;
use async_trait::async_trait;
use eportal_core::ledger::{Entry, HeadSignature, LedgerKey, Problem, PublicKey, Report, Walker};

/// Entries read at a time by [`verify`]: memory stays bounded however long the ledger is.
pub const VERIFY_PAGE: u32 = 5_000;

#[async_trait]
pub trait Ledger: Send + Sync {
    /// Entries with a seq above `after`, in seq order, at most `limit`.
    async fn ledger_entries(&self, after: i64, limit: u32) -> PortResult<Vec<Entry>>;
    /// The last entry's seq and hash; `None` for an empty ledger.
    async fn ledger_head(&self) -> PortResult<Option<(i64, String)>>;
    /// Every stored signature, in seq order.
    async fn ledger_signatures(&self) -> PortResult<Vec<HeadSignature>>;
    /// The stored signature with the highest seq.
    async fn last_ledger_signature(&self) -> PortResult<Option<HeadSignature>>;
    /// Stores a signature; `false` (and nothing changed) when one for that seq exists, so
    /// several processes signing the same head is harmless.
    async fn add_ledger_signature(&self, signature: &HeadSignature) -> PortResult<bool>;
}

/// Walks the whole ledger in seq order, a page at a time, checking every hash, link and
/// signature against `key`. The outer error is the store failing; the inner one the first
/// problem found in the ledger.
pub async fn verify<L: Ledger + ?Sized>(
    ledger: &L,
    key: PublicKey,
) -> PortResult<Result<Report, Problem>> {
    let mut walker = match Walker::new(key, ledger.ledger_signatures().await?) {
        Ok(w) => w,
        Err(p) => return Ok(Err(p)),
    };
    let mut after = 0;
    loop {
        let page = ledger.ledger_entries(after, VERIFY_PAGE).await?;
        for e in &page {
            if let Err(p) = walker.push(e) {
                return Ok(Err(p));
            }
        }
        match page.last() {
            Some(last) if page.len() == VERIFY_PAGE as usize => after = last.seq,
            _ => return Ok(walker.finish()),
        }
    }
}

/// Signs the head if it moved since the last signature; returns the signature stored, if
/// any. Signing the head is the only check that sees a chain rewritten from the start, so
/// the head is what is signed, with the time given.
pub async fn sign_head<L: Ledger + ?Sized>(
    ledger: &L,
    key: &LedgerKey,
    now_ms: i64,
) -> PortResult<Option<HeadSignature>> {
    let Some((seq, hash)) = ledger.ledger_head().await? else {
        return Ok(None);
    };
    if let Some(last) = ledger.last_ledger_signature().await? {
        if last.seq >= seq {
            return Ok(None);
        }
    }
    let signature = key.sign_head(seq, &hash, now_ms);
    Ok(ledger
        .add_ledger_signature(&signature)
        .await?
        .then_some(signature))
}
