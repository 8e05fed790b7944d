//! Ledger entries and their hashes. An entry's hash is SHA-256 over a length-prefixed
//! encoding of every field (no field boundary can shift: `"ab" + "c"` and `"a" + "bc"` hash
//! differently), so any change to any stored value changes the hash.
//!
//! Entries are kept in their stored form (plain strings and integers, the hashes as lower-case
//! hex): a value tampered into something that would not parse is still hashed and reported
//! as altered, never as a read error.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The `prev_hash` of the first entry: 32 zero bytes, in hex.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What an entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A student's score in a course term was set (appeared or changed).
    Score,
    /// A student's current score was removed (left off a newer sheet).
    ScoreRemoved,
    /// A course result moved from one workflow state to another.
    Transition,
    /// An amendment of a published result was requested, approved at a step, rejected or
    /// applied (its new scores are `score` entries of its sheet).
    Amendment,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Score => "score",
            Kind::ScoreRemoved => "score_removed",
            Kind::Transition => "transition",
            Kind::Amendment => "amendment",
        }
    }
}

/// What an entry is about: a course result, and for score entries one student's record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject {
    pub course_code: String,
    /// The session's start year (2024 for 2024/2025).
    pub session: i64,
    /// 1 (first) or 2 (second).
    pub semester: i64,
    pub matric_no: Option<String>,
}

/// The values of a score entry. Field order is the stored JSON's order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScoreBody {
    /// Tenths of a mark, as stored.
    pub ca: i64,
    pub exam: i64,
    pub total: i64,
    pub grade: String,
    pub points: i64,
    pub version: i64,
    pub sheet_id: i64,
}

/// The values of a score-removed entry: the sheet that left the student off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScoreRemovedBody {
    pub sheet_id: i64,
}

/// The values of a transition entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransitionBody {
    pub from: String,
    pub to: String,
    pub reason: Option<String>,
}

/// The values of an amendment entry: which amendment, what happened to it (`requested`,
/// `approved`, `rejected`, `applied`), the reviewer's role at that step, and the reason (the
/// request's, or a rejection's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AmendmentBody {
    pub amendment_id: i64,
    pub action: String,
    pub role: Option<String>,
    pub reason: Option<String>,
}

impl AmendmentBody {
    fn of(amendment_id: i64, action: &str, role: Option<&str>, reason: Option<&str>) -> Self {
        AmendmentBody {
            amendment_id,
            action: action.to_string(),
            role: role.map(str::to_string),
            reason: reason.map(str::to_string),
        }
    }

    pub fn requested(amendment_id: i64, reason: &str) -> Self {
        Self::of(amendment_id, "requested", None, Some(reason))
    }

    pub fn approved(amendment_id: i64, role: &str) -> Self {
        Self::of(amendment_id, "approved", Some(role), None)
    }

    /// A reviewer's rejection (with their role), or the workers' (`None`: the sheet was
    /// unusable).
    pub fn rejected(amendment_id: i64, role: Option<&str>, reason: &str) -> Self {
        Self::of(amendment_id, "rejected", role, Some(reason))
    }

    pub fn applied(amendment_id: i64) -> Self {
        Self::of(amendment_id, "applied", None, None)
    }
}

/// An entry before it is chained: everything but its place and hashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    pub at_ms: i64,
    pub actor: String,
    pub kind: String,
    pub subject: Subject,
    /// Canonical JSON of the values (one of the `*Body` types).
    pub body: String,
}

impl Draft {
    fn of<B: Serialize>(at_ms: i64, actor: &str, kind: Kind, subject: Subject, body: &B) -> Draft {
        Draft {
            at_ms,
            actor: actor.to_string(),
            kind: kind.as_str().to_string(),
            subject,
            // Serialising a struct of strings and integers cannot fail.
            body: serde_json::to_string(body).unwrap_or_default(),
        }
    }

    pub fn score(at_ms: i64, actor: &str, subject: Subject, body: &ScoreBody) -> Draft {
        Draft::of(at_ms, actor, Kind::Score, subject, body)
    }

    pub fn score_removed(
        at_ms: i64,
        actor: &str,
        subject: Subject,
        body: &ScoreRemovedBody,
    ) -> Draft {
        Draft::of(at_ms, actor, Kind::ScoreRemoved, subject, body)
    }

    pub fn amendment(at_ms: i64, actor: &str, subject: Subject, body: &AmendmentBody) -> Draft {
        Draft::of(at_ms, actor, Kind::Amendment, subject, body)
    }

    pub fn transition(at_ms: i64, actor: &str, subject: Subject, body: &TransitionBody) -> Draft {
        Draft::of(at_ms, actor, Kind::Transition, subject, body)
    }
}

/// A chained entry, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// 1, 2, 3 … with no gaps.
    pub seq: i64,
    pub at_ms: i64,
    pub actor: String,
    pub kind: String,
    pub subject: Subject,
    pub body: String,
    /// The previous entry's `hash` ([`GENESIS_HASH`] for seq 1), lower-case hex.
    pub prev_hash: String,
    /// [`hash_entry`] of this entry, lower-case hex.
    pub hash: String,
}

impl Entry {
    /// "seq 12 (score, CSC201 2024 semester 1, SCI/2021/0001)", for messages.
    pub fn describe(&self) -> String {
        let s = &self.subject;
        let matric = s
            .matric_no
            .as_deref()
            .map(|m| format!(", {m}"))
            .unwrap_or_default();
        format!(
            "seq {} ({}, {} {}/{} semester {}{matric})",
            self.seq,
            self.kind,
            s.course_code,
            s.session,
            s.session + 1,
            s.semester
        )
    }
}

fn put_str(h: &mut Sha256, s: &str) {
    h.update((s.len() as u64).to_be_bytes());
    h.update(s.as_bytes());
}

/// SHA-256 (hex) over seq, prev_hash, at_ms, actor, kind, subject and body, each integer as
/// 8 big-endian bytes and each string prefixed by its length; the stored `hash` is ignored.
pub fn hash_entry(e: &Entry) -> String {
    let mut h = Sha256::new();
    h.update(b"eportal-ledger-v1");
    h.update(e.seq.to_be_bytes());
    put_str(&mut h, &e.prev_hash);
    h.update(e.at_ms.to_be_bytes());
    put_str(&mut h, &e.actor);
    put_str(&mut h, &e.kind);
    put_str(&mut h, &e.subject.course_code);
    h.update(e.subject.session.to_be_bytes());
    h.update(e.subject.semester.to_be_bytes());
    match &e.subject.matric_no {
        None => h.update([0u8]),
        Some(m) => {
            h.update([1u8]);
            put_str(&mut h, m);
        }
    }
    put_str(&mut h, &e.body);
    hex::encode(h.finalize())
}

/// Chains drafts after the head `prev` ((seq, hash) of the last entry; `None` for an empty
/// ledger): seq numbers continue from it and each entry's `prev_hash` is the hash before it.
pub fn chain(prev: Option<(i64, &str)>, drafts: Vec<Draft>) -> Vec<Entry> {
    let (mut seq, mut prev_hash) = match prev {
        Some((s, h)) => (s, h.to_string()),
        None => (0, GENESIS_HASH.to_string()),
    };
    drafts
        .into_iter()
        .map(|d| {
            seq += 1;
            let mut e = Entry {
                seq,
                at_ms: d.at_ms,
                actor: d.actor,
                kind: d.kind,
                subject: d.subject,
                body: d.body,
                prev_hash: std::mem::take(&mut prev_hash),
                hash: String::new(),
            };
            e.hash = hash_entry(&e);
            prev_hash = e.hash.clone();
            e
        })
        .collect()
}
