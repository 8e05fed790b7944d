//! Jobs for buffer mode: a versioned, serde-tagged enum carried by every queue adapter, and
//! the retry schedule (jittered exponential backoff) shared by every worker.
//!
//! A job must never carry the data it works on (a sheet's rows, a student's scores): only
//! ids, so a redelivered or late job reads the current state and stays idempotent.

use crate::discipline::JobMeta;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The version written into every envelope; a worker refuses (dead-letters) versions it
/// does not know rather than guessing.
pub const ENVELOPE_VERSION: u8 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Job {
    /// Parse, validate and apply one uploaded score sheet.
    ProcessSheet { sheet_id: i64 },
    /// Grade the records of one partition of course results under a regrade's new book.
    RegradeMap { regrade_id: i64, part: u32 },
    /// Compute the semester results of one partition of students from the graded records.
    RegradeReduce { regrade_id: i64, part: u32 },
    /// Switch to the regrade's book, with everything the map and reduce tasks wrote.
    RegradeCommit { regrade_id: i64 },
    /// Recompute the stored semester results (GPA, CGPA) of every student an applied sheet
    /// marked stale. Queued with the marks, so a burst of sheets costs one pass per student.
    RefreshResults,
}

/// A job as it travels through a queue: the job, its version and the request that caused
/// it (so the worker's logs can be joined to the HTTP request's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    pub v: u8,
    pub job: Job,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// What the queue disciplines look at (size, department); absent in older envelopes.
    #[serde(default, skip_serializing_if = "JobMeta::is_empty")]
    pub meta: JobMeta,
}

impl Job {
    /// Work no lecturer waits on, which the queue disciplines put behind the rest.
    pub fn is_background(&self) -> bool {
        matches!(self, Job::RefreshResults)
    }
}

impl Envelope {
    pub fn new(job: Job, request_id: Option<String>) -> Self {
        let meta = JobMeta {
            background: job.is_background(),
            ..JobMeta::default()
        };
        Envelope {
            v: ENVELOPE_VERSION,
            job,
            request_id,
            meta,
        }
    }

    /// The same envelope, carrying `meta` (size and class) for the queue disciplines; whether
    /// it is background work stays the job's.
    pub fn with_meta(mut self, meta: JobMeta) -> Self {
        self.meta = JobMeta {
            background: self.job.is_background(),
            ..meta
        };
        self
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("envelopes always serialise")
    }

    /// Reads an envelope, refusing one written by a version this worker does not know.
    /// The version is read first, on its own, so a newer envelope (whose job this build
    /// cannot parse) is reported as a version problem rather than as garbage.
    pub fn from_json(s: &str) -> Result<Self, String> {
        #[derive(Deserialize)]
        struct Version {
            v: serde_json::Value,
        }
        let probe: Version = serde_json::from_str(s).map_err(|e| format!("unreadable job: {e}"))?;
        if probe.v != ENVELOPE_VERSION {
            return Err(format!(
                "job envelope version {} is not supported (this worker reads version {})",
                probe.v, ENVELOPE_VERSION
            ));
        }
        serde_json::from_str(s).map_err(|e| format!("unreadable job: {e}"))
    }
}

/// The retry schedule: attempt `n` (1-based) waits `base × 2^(n-1)`, capped at `max`, then
/// scaled by a jitter factor in [0.5, 1.0] drawn by the caller (`jitter` in 0..=1000), so
/// that jobs failing together do not retry together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub base_ms: u64,
    pub max_ms: u64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            base_ms: 500,
            max_ms: 60_000,
        }
    }
}

impl RetryPolicy {
    /// `None` once `attempt` has used up the budget: the job goes to the dead-letter place.
    pub fn delay(&self, attempt: u32, jitter: u16) -> Option<Duration> {
        if attempt >= self.max_attempts {
            return None;
        }
        let exp = self
            .base_ms
            .saturating_mul(1u64 << attempt.saturating_sub(1).min(30));
        let capped = exp.min(self.max_ms);
        let j = 500 + (jitter.min(1000) as u64) / 2;
        // u128: `capped × j` must not overflow for any configured maximum.
        let ms = capped as u128 * j as u128 / 1000;
        Some(Duration::from_millis(ms as u64))
    }
}
