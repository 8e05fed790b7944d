//! Grading policy versions and their regrades, as the store keeps them.
//!
//! Every stored [`PolicyBook`] has a version; one is active (the highest that has been
//! switched to). A new book is stored *pending* with the regrade that will switch to it:
//! the regrade's map tasks write graded rows to a staging area (with each row's reduce
//! partition, which is the shuffle), its reduce tasks write students' semester results
//! there, and its commit copies everything into the live records and makes the book active
//! in one transaction. Until that commit, every reader sees the old book's results; after
//! it, the new one's. Each task's output is stored with the mark that it is done in one
//! transaction, so a task redelivered after a crash is done once, and the last task of a
//! phase enqueues the next phase's jobs through the outbox in that same transaction.
//!
//! Score sheets applied during a regrade are graded under the active book; the commit
//! grades again, under the new one, every record whose score changed after its map task
//! read it. A sheet judged under a book that is no longer active when it is applied is
//! not applied ([`crate::ApplyOutcome::PolicyChanged`]) and is judged again.

use crate::error::PortResult;
use async_trait::async_trait;
use eportal_core::model::{CourseRecord, CourseTerm, SemesterResult};
use eportal_core::regrade::RegradeRow;
use eportal_core::{MatricNo, PolicyBook};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegradeStatus {
    /// Map tasks are grading the records.
    Mapping,
    /// Reduce tasks are computing students' results.
    Reducing,
    /// Every task is done; the switch is next.
    Committing,
    /// Switched: the new book is active.
    Done,
    /// A task failed for good; the old book stays active.
    Failed,
}

impl RegradeStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RegradeStatus::Mapping => "mapping",
            RegradeStatus::Reducing => "reducing",
            RegradeStatus::Committing => "committing",
            RegradeStatus::Done => "done",
            RegradeStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            RegradeStatus::Mapping,
            RegradeStatus::Reducing,
            RegradeStatus::Committing,
            RegradeStatus::Done,
            RegradeStatus::Failed,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }

    /// Whether nothing more will happen to it.
    pub fn is_final(self) -> bool {
        matches!(self, RegradeStatus::Done | RegradeStatus::Failed)
    }
}

/// How many map and reduce tasks a regrade is split into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegradeParts {
    pub map: u32,
    pub reduce: u32,
}

/// A regrade, as its progress is reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Regrade {
    pub id: i64,
    pub from_version: u32,
    pub to_version: u32,
    pub status: RegradeStatus,
    pub parts: RegradeParts,
    pub maps_done: u32,
    pub reduces_done: u32,
    /// Records graded by the map tasks done so far.
    pub records: u64,
    /// Of those, how many changed grade or points.
    pub changed: u64,
    /// Students whose results the reduce tasks done so far computed.
    pub students: u64,
    pub started_by: String,
    pub started_at_ms: i64,
    pub finished_at_ms: Option<i64>,
    /// Why it failed.
    pub message: Option<String>,
}

impl Regrade {
    /// Its tasks: the map tasks, the reduce tasks and the switch.
    pub fn tasks_total(&self) -> u32 {
        self.parts.map + self.parts.reduce + 1
    }

    /// Those done so far (the switch once the regrade is done).
    pub fn tasks_done(&self) -> u32 {
        self.maps_done + self.reduces_done + u32::from(self.status == RegradeStatus::Done)
    }
}

/// What a commit did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Committed {
    /// Records whose grade or points the switch changed.
    pub changed: u64,
    /// Records graded again at the switch because their score changed during the regrade.
    pub graded_at_commit: u64,
    /// False when the regrade was already done (a redelivered job): nothing changed.
    pub switched: bool,
}

#[async_trait]
pub trait Policies: Send + Sync {
    /// The active book; `None` while none has been stored (a new installation grades under
    /// the built-in default).
    async fn active_policy(&self) -> PortResult<Option<PolicyBook>>;

    /// The active book's version; 0 while none has been stored. Cheap: processes poll it.
    async fn active_policy_version(&self) -> PortResult<u32>;

    /// Every current record of a student (as [`crate::Results::student_records`]) with the
    /// version of the active book, read in one snapshot: the records' grades are that book's,
    /// so results computed from them under it are never a mix of two books. The version is
    /// `None` when the student has no records.
    async fn graded_records(
        &self,
        matric: &MatricNo,
    ) -> PortResult<(Vec<CourseRecord>, Option<u32>)>;

    /// A stored book by version (active, pending or past).
    async fn policy_book(&self, version: u32) -> PortResult<Option<PolicyBook>>;

    /// Stores `book` as the next version and, in the same transaction, starts its regrade:
    /// the regrade's row and one map job per partition, written to the outbox. A store with
    /// no score records switches at once (the regrade is returned done). Refused with
    /// [`crate::PortError::Conflict`] while another regrade is not final.
    async fn start_regrade(
        &self,
        book: &PolicyBook,
        parts: RegradeParts,
        started_by: &str,
    ) -> PortResult<Regrade>;

    async fn regrade(&self, id: i64) -> PortResult<Option<Regrade>>;

    /// The latest regrades, newest first.
    async fn regrades(&self, limit: u32) -> PortResult<Vec<Regrade>>;

    /// Every course term that has score records (what the map tasks split between them).
    async fn graded_terms(&self) -> PortResult<Vec<CourseTerm>>;

    /// The current records of these course terms, as the regrade reads them.
    async fn regrade_rows(&self, terms: &[CourseTerm]) -> PortResult<Vec<RegradeRow>>;

    /// Stores a map task's graded rows (to be grouped by the reduce partition of each row's
    /// student) and marks the task done; the last map task also moves the regrade to
    /// reducing and enqueues its reduce jobs. Returns `false`, writing nothing, when the task
    /// was already done or the regrade is final.
    async fn finish_map(
        &self,
        regrade_id: i64,
        part: u32,
        rows: &[RegradeRow],
        changed: u64,
    ) -> PortResult<bool>;

    /// The graded rows of one reduce partition: every staged row of its students.
    async fn reduce_rows(&self, regrade_id: i64, part: u32) -> PortResult<Vec<RegradeRow>>;

    /// Stores a reduce task's semester results and marks the task done; the last reduce task
    /// also moves the regrade to committing and enqueues the commit job. `false`, writing
    /// nothing, when the task was already done or the regrade is final.
    async fn finish_reduce(
        &self,
        regrade_id: i64,
        part: u32,
        results: &[SemesterResult],
    ) -> PortResult<bool>;

    /// The switch, in one transaction: staged grades and semester results replace the live
    /// ones, records whose score changed since their map task are graded again under the new
    /// book (and their students' results recomputed), the book becomes active, the regrade
    /// done, and its staging rows are removed. Idempotent.
    async fn commit_regrade(&self, regrade_id: i64) -> PortResult<Committed>;

    /// Marks a regrade failed (a task was dead-lettered); the old book stays active.
    async fn fail_regrade(&self, regrade_id: i64, message: &str) -> PortResult<()>;
}
