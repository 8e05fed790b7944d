//! Walking the chain: entries are pushed in seq order (a page at a time, so memory stays
//! constant however long the ledger is) and the walk stops at the first problem, naming the
//! entry. The signatures are checked on the way: each must be the key's signature of its
//! seq and hash, and the entry at that seq must still have that hash.

use super::entry::{hash_entry, Entry, GENESIS_HASH};
use super::sign::{HeadSignature, PublicKey};
use std::collections::VecDeque;

/// The first thing wrong with a ledger.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// The entry's contents no longer hash to its stored hash.
    #[error("entry {entry} was altered: its contents do not match its hash")]
    Altered { seq: i64, entry: String },
    /// A seq number is missing from the chain.
    #[error("entry seq {expected} is missing (seq {expected} expected, {found})")]
    Missing { expected: i64, found: String },
    /// The entry does not follow the one before it.
    #[error("entry {entry} is out of order: it does not follow seq {after} (its prev_hash is not that entry's hash){how}")]
    OutOfOrder {
        seq: i64,
        after: i64,
        entry: String,
        how: String,
    },
    /// A signature does not verify under the key.
    #[error("the signature of seq {seq} does not match: it was not made by key {key_id} over that entry's hash")]
    BadSignature { seq: i64, key_id: String },
    /// The chain's entry differs from the one that was signed: the chain was rewritten.
    #[error("entry {entry} differs from the entry that was signed at {signed_at_ms} ms: the chain was rewritten (signature does not match)")]
    SignedHashDiffers {
        seq: i64,
        entry: String,
        signed_at_ms: i64,
    },
    /// No signature by the key covers any entry.
    #[error("no signature by key {key_id} covers the chain's head (seq {head}): the chain cannot be trusted; a running eportal signs the head every ledger.sign_interval_secs")]
    Unsigned { head: i64, key_id: String },
}

impl Problem {
    /// The seq of the entry named.
    pub fn seq(&self) -> i64 {
        match self {
            Problem::Altered { seq, .. }
            | Problem::OutOfOrder { seq, .. }
            | Problem::BadSignature { seq, .. }
            | Problem::SignedHashDiffers { seq, .. } => *seq,
            Problem::Missing { expected, .. } => *expected,
            Problem::Unsigned { head, .. } => *head,
        }
    }
}

/// What an intact walk found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Report {
    pub entries: u64,
    /// Signatures by the key, each checked.
    pub signatures: u64,
    /// Signatures by other keys (not trusted, ignored).
    pub other_keys: u64,
    pub head: Option<i64>,
    pub last_signed: Option<i64>,
    /// Entries after the last signed one: intact as a chain, but not yet covered by a
    /// signature (a warning, not a failure).
    pub unsigned_after: u64,
}

/// A walk in progress.
pub struct Walker {
    key: PublicKey,
    /// The key's signatures not yet reached, by seq.
    pending: VecDeque<HeadSignature>,
    report: Report,
    next_seq: i64,
    prev_hash: String,
}

impl Walker {
    /// Starts a walk checking `signatures` (any order) against `key`. A signature naming the
    /// key that does not verify is a problem at once; signatures by other keys are counted and
    /// otherwise ignored (a forger can make those).
    pub fn new(key: PublicKey, signatures: Vec<HeadSignature>) -> Result<Walker, Problem> {
        let id = key.id();
        let mut mine = Vec::new();
        let mut report = Report::default();
        for s in signatures {
            if key.verifies(&s) {
                mine.push(s);
            } else if s.key_id == id {
                return Err(Problem::BadSignature {
                    seq: s.seq,
                    key_id: id,
                });
            } else {
                report.other_keys += 1;
            }
        }
        mine.sort_by_key(|s| s.seq);
        Ok(Walker {
            key,
            pending: mine.into(),
            report,
            next_seq: 1,
            prev_hash: GENESIS_HASH.to_string(),
        })
    }

    /// Checks the next entry (entries must come in ascending seq order).
    pub fn push(&mut self, e: &Entry) -> Result<(), Problem> {
        if e.seq != self.next_seq {
            if e.seq > self.next_seq {
                let found = if self.next_seq == 1 {
                    format!("the chain starts at seq {}", e.seq)
                } else {
                    format!("seq {} follows seq {}", e.seq, self.next_seq - 1)
                };
                return Err(Problem::Missing {
                    expected: self.next_seq,
                    found,
                });
            }
            return Err(Problem::OutOfOrder {
                seq: e.seq,
                after: self.next_seq - 1,
                entry: e.describe(),
                how: String::new(),
            });
        }
        let intact = hash_entry(e) == e.hash;
        if e.prev_hash != self.prev_hash {
            let how = if intact {
                "; the entry itself is intact, so it was moved here or the entry before it replaced"
            } else {
                "; its seq was changed (moved from another place in the chain) or it was altered"
            };
            return Err(Problem::OutOfOrder {
                seq: e.seq,
                after: e.seq - 1,
                entry: e.describe(),
                how: how.into(),
            });
        }
        if !intact {
            return Err(Problem::Altered {
                seq: e.seq,
                entry: e.describe(),
            });
        }
        while let Some(s) = self.pending.front() {
            if s.seq > e.seq {
                break;
            }
            // Signatures below this seq were matched earlier: seq is unique, so only `==`.
            if s.hash != e.hash {
                return Err(Problem::SignedHashDiffers {
                    seq: e.seq,
                    entry: e.describe(),
                    signed_at_ms: s.signed_at_ms,
                });
            }
            self.report.signatures += 1;
            self.report.last_signed = Some(e.seq);
            self.pending.pop_front();
        }
        self.report.entries += 1;
        self.report.head = Some(e.seq);
        self.prev_hash.clone_from(&e.hash);
        self.next_seq += 1;
        Ok(())
    }

    /// Ends the walk: a signature beyond the last entry means entries were removed from the
    /// end; a chain with no signature by the key at all is not trusted.
    pub fn finish(mut self) -> Result<Report, Problem> {
        if let Some(s) = self.pending.pop_front() {
            return Err(Problem::Missing {
                expected: self.next_seq,
                found: format!(
                    "the chain ends at seq {} but a signature covers seq {}: entries were removed from its end",
                    self.next_seq - 1,
                    s.seq
                ),
            });
        }
        if let Some(head) = self.report.head {
            match self.report.last_signed {
                None => {
                    return Err(Problem::Unsigned {
                        head,
                        key_id: self.key.id(),
                    })
                }
                Some(last) => self.report.unsigned_after = (head - last) as u64,
            }
        }
        Ok(self.report)
    }
}
