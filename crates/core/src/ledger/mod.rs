//! The tamper-evident ledger: every change to a score and every workflow transition, as a
//! hash chain. Each entry carries the hash of the one before it, so altering, removing or
//! reordering an entry breaks the chain at that entry; the head of the chain is signed now
//! and then with an Ed25519 key kept outside the database ([`sign`]), so even a chain
//! rewritten consistently from the start fails verification against the signatures.
//!
//! Pure: entries are built, hashed and checked here from plain values; the stores append
//! them in the transaction that makes the change, and the CLI walks them through the port.
//! This module must never read a clock or a file: times and keys are given to it.

mod entry;
pub mod sign;
mod verify;

pub use entry::{
    chain, hash_entry, AmendmentBody, Draft, Entry, Kind, ScoreBody, ScoreRemovedBody, Subject,
    TransitionBody, GENESIS_HASH,
};
pub use sign::{HeadSignature, KeyError, LedgerKey, PublicKey};
pub use verify::{Problem, Report, Walker};
