//! The system of record, split by ability (directory, users, sheets, results, workflow,
//! ledger, documents, amendments);
//! [`RecordStore`] is all of them together, and is what the application holds.
//!
//! Every method that changes several rows does so in one transaction: a caller never sees
//! half a sheet applied.

use crate::error::PortResult;
use async_trait::async_trait;
use eportal_core::jobs::Envelope;
use eportal_core::model::{
    Allocation, Course, CourseRecord, CourseTerm, Department, Faculty, Institution, Programme,
    Registration, SemesterResult, Staff, Student, UserAccount,
};
use eportal_core::sheet::{AcceptedRow, Roster, RowError};
use eportal_core::workflow::WorkflowState;
use eportal_core::{CourseCode, GradingPolicy, MatricNo, PolicyBook, Role};
use serde::{Deserialize, Serialize};

/// The university's people, courses and registrations. Bulk writes are upserts keyed by the
/// natural key (code, matric number, staff id), so importing the same file twice is harmless.
/// A row that refers to something missing (a student in an unknown programme) fails the
/// whole call with [`crate::PortError::Invalid`]; importers check references first.
#[async_trait]
pub trait Directory: Send + Sync {
    /// Stores the institution. While no grading policy book is stored, `policy` becomes
    /// book version 1, active at once; after that a policy changes only through a regrade
    /// ([`crate::Policies::start_regrade`]) and `policy` is not used.
    async fn put_institution(&self, inst: &Institution, policy: &GradingPolicy) -> PortResult<()>;
    /// The institution, with the default policy of the active book (or the policy stored
    /// with it before books existed).
    async fn institution(&self) -> PortResult<Option<(Institution, GradingPolicy)>>;
    async fn upsert_faculties(&self, rows: &[Faculty]) -> PortResult<u64>;
    async fn upsert_departments(&self, rows: &[Department]) -> PortResult<u64>;
    async fn upsert_programmes(&self, rows: &[Programme]) -> PortResult<u64>;
    async fn upsert_students(&self, rows: &[Student]) -> PortResult<u64>;
    async fn upsert_staff(&self, rows: &[Staff]) -> PortResult<u64>;
    async fn upsert_courses(&self, rows: &[Course]) -> PortResult<u64>;
    async fn upsert_allocations(&self, rows: &[Allocation]) -> PortResult<u64>;
    async fn upsert_registrations(&self, rows: &[Registration]) -> PortResult<u64>;

    async fn faculties(&self) -> PortResult<Vec<Faculty>>;
    async fn departments(&self) -> PortResult<Vec<Department>>;
    async fn programmes(&self) -> PortResult<Vec<Programme>>;
    /// Students ordered by matric number.
    async fn students(&self, limit: u32, offset: u32) -> PortResult<Vec<Student>>;
    async fn count_students(&self) -> PortResult<u64>;
    async fn student(&self, matric: &MatricNo) -> PortResult<Option<Student>>;
    async fn staff(&self, staff_id: &str) -> PortResult<Option<Staff>>;
    /// Every staff member holding `role` (reviewers are few: HODs, deans, senate), ordered
    /// by staff id.
    async fn staff_with_role(&self, role: Role) -> PortResult<Vec<Staff>>;
    async fn course(&self, code: &CourseCode) -> PortResult<Option<Course>>;
    async fn courses(&self) -> PortResult<Vec<Course>>;
    /// Who is allocated to teach the course in that term (usually one lecturer).
    async fn allocations(&self, term: &CourseTerm) -> PortResult<Vec<String>>;
    /// The terms in which `staff_id` teaches something, with the course.
    async fn allocations_of(&self, staff_id: &str) -> PortResult<Vec<CourseTerm>>;
    /// Of `matrics`, which exist and which are registered for the course in that term.
    async fn roster(&self, term: &CourseTerm, matrics: &[MatricNo]) -> PortResult<Roster>;
    /// Every student registered for the course in that term.
    async fn registered(&self, term: &CourseTerm) -> PortResult<Vec<MatricNo>>;
    /// The same students with their details (a class list), by matric number, in one query.
    async fn registered_students(&self, term: &CourseTerm) -> PortResult<Vec<Student>>;
}

/// Sign-in accounts. Each account has a session version, carried in every token signed for
/// it: a token of an older version is no longer valid. It goes up by one whenever the
/// account's password hash or roles change (also through `upsert_users`), on sign-out and
/// when an administrator ends the account's sessions; it never goes down.
#[async_trait]
pub trait Users: Send + Sync {
    async fn upsert_users(&self, rows: &[UserAccount]) -> PortResult<u64>;
    async fn user(&self, username: &str) -> PortResult<Option<UserAccount>>;
    /// The account's session version; `None` when there is no such account.
    async fn session_version(&self, username: &str) -> PortResult<Option<u64>>;
    /// Ends every session of the account: returns its new session version, or
    /// [`crate::PortError::NotFound`] when there is no such account.
    async fn end_sessions(&self, username: &str) -> PortResult<u64>;
    /// Stores a new password hash and ends every session, in one statement: returns the new
    /// session version, or [`crate::PortError::NotFound`]. A password the account's holder
    /// chose: it clears the "must change the password" flag.
    async fn set_password(&self, username: &str, password_hash: &str) -> PortResult<u64>;
    /// Stores a password an administrator gave, sets the "must change the password" flag and
    /// ends every session, in one statement: returns the new session version, or
    /// [`crate::PortError::NotFound`].
    async fn reset_password(&self, username: &str, password_hash: &str) -> PortResult<u64>;
    /// Whether the account must change its password before anything else (a new imported
    /// account, or a password reset by an administrator); `false` for no such account.
    async fn password_change_required(&self, username: &str) -> PortResult<bool>;
    /// Sets the "must change the password" flag of these accounts (unknown names are
    /// skipped); the sessions are not ended.
    async fn require_password_change(&self, usernames: &[String]) -> PortResult<()>;
    /// The stored value of a setting, storing `value` first if there was none. Every process
    /// of a deployment therefore agrees on it (used for the token signing key).
    async fn setting_or_init(&self, key: &str, value: &str) -> PortResult<String>;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SheetStatus {
    /// Stored and waiting for a worker.
    Queued,
    /// Applied: its accepted rows are the course's current scores.
    Processed,
    /// The file as a whole could not be used (not a spreadsheet, no header, …).
    Rejected,
    /// Judged, but not applied: it would remove scores the course has, and the lecturer has
    /// not yet confirmed that (or uploaded it to add rows instead).
    Held,
    /// A newer sheet for the same course and term replaced it.
    Superseded,
    /// Processing kept failing; the job is in the dead-letter place.
    Failed,
}

impl SheetStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SheetStatus::Queued => "queued",
            SheetStatus::Processed => "processed",
            SheetStatus::Held => "held",
            SheetStatus::Rejected => "rejected",
            SheetStatus::Superseded => "superseded",
            SheetStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            SheetStatus::Queued,
            SheetStatus::Processed,
            SheetStatus::Held,
            SheetStatus::Rejected,
            SheetStatus::Superseded,
            SheetStatus::Failed,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }

    /// Whether the sheet is finished (nothing more will happen to it).
    pub fn is_final(self) -> bool {
        !matches!(self, SheetStatus::Queued)
    }
}

/// What a sheet's rows do to the scores a course term already has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SheetMode {
    /// The sheet is the course's whole list: students left off it lose their score (which
    /// needs the lecturer's confirmation).
    #[default]
    Replace,
    /// The sheet's rows are added to (or change) the scores already there; nobody is removed.
    /// A class list split over several files ends with every part's scores.
    AddRows,
}

impl SheetMode {
    pub fn as_str(self) -> &'static str {
        match self {
            SheetMode::Replace => "replace",
            SheetMode::AddRows => "add_rows",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [SheetMode::Replace, SheetMode::AddRows]
            .into_iter()
            .find(|m| m.as_str() == s)
    }
}

/// What a sheet did (or, while held, would do) to the course's current scores: counts, and
/// the matric numbers of those changed and removed (the first [`SheetChanges::LISTED`]).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SheetChanges {
    pub added: u32,
    pub changed: u32,
    pub unchanged: u32,
    pub removed: u32,
    pub changed_matrics: Vec<String>,
    pub removed_matrics: Vec<String>,
}

impl SheetChanges {
    /// How many matric numbers of each kind are kept for people to read.
    pub const LISTED: usize = 100;
}

/// An upload, as recorded before any processing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSheet {
    pub term: CourseTerm,
    pub sha256: String,
    pub size_bytes: u64,
    pub filename: Option<String>,
    pub uploaded_by: String,
    pub mode: SheetMode,
    /// Rows counted or estimated at upload, for the queue disciplines (SJF); the stores copy
    /// it, with the course's department, onto the sheet's job.
    pub rows_estimate: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SheetSummary {
    pub id: i64,
    pub term: CourseTerm,
    pub sha256: String,
    pub size_bytes: u64,
    pub filename: Option<String>,
    pub uploaded_by: String,
    pub uploaded_at_ms: i64,
    pub status: SheetStatus,
    pub rows_total: u32,
    pub rows_accepted: u32,
    pub rows_rejected: u32,
    /// Why the whole sheet was rejected or failed.
    pub message: Option<String>,
    pub processed_at_ms: Option<i64>,
    pub superseded_by: Option<i64>,
    pub mode: SheetMode,
    /// The lecturer confirmed the scores this sheet removes.
    pub removals_confirmed: bool,
    /// Set once the sheet has been judged against the course's scores.
    pub changes: Option<SheetChanges>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SheetReport {
    pub sheet: SheetSummary,
    pub row_errors: Vec<RowError>,
}

/// What a worker decided about a sheet, to be applied in one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SheetOutcome {
    /// The rows were judged: apply the accepted ones, record the rejected ones.
    Judged {
        accepted: Vec<AcceptedRow>,
        rejected: Vec<RowError>,
    },
    /// The file as a whole is unusable; nothing from it is applied.
    Rejected { message: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApplyOutcome {
    /// Applied now; these students' records changed (their cached results are stale).
    Applied { affected: Vec<MatricNo> },
    /// A newer sheet of the same course and term was applied first: this one is superseded
    /// and none of its rows were applied.
    SupersededAlready { by: i64 },
    /// The sheet was already final (a redelivered job): nothing changed.
    AlreadyFinal { status: SheetStatus },
    /// Judged and held, nothing applied: it would remove this many scores and the lecturer
    /// has not confirmed that.
    Held { removed: u32 },
    /// The sheet was judged under a grading policy book that is no longer active (a regrade
    /// switched meanwhile): nothing applied; judge it again under the active book.
    PolicyChanged { active: u32 },
}

#[async_trait]
pub trait Sheets: Send + Sync {
    /// Records an upload and, in the same transaction, writes its processing job into the
    /// outbox. The same bytes for the same course, term and mode are the same sheet — the
    /// existing one is returned with `false` — unless that sheet was superseded: then the
    /// upload is a new sheet, which makes the earlier file current again.
    async fn submit_sheet(
        &self,
        sheet: &NewSheet,
        request_id: Option<&str>,
    ) -> PortResult<(SheetSummary, bool)>;

    async fn sheet(&self, id: i64) -> PortResult<Option<SheetReport>>;

    /// Sheets of a course and term, newest first.
    async fn sheets_for(&self, term: &CourseTerm) -> PortResult<Vec<SheetSummary>>;

    /// Every sheet of every course, newest first, only those with `status` when given, a
    /// page at a time; with how many match in all (the registry's view).
    async fn all_sheets(
        &self,
        status: Option<SheetStatus>,
        limit: u32,
        offset: u32,
    ) -> PortResult<(Vec<SheetSummary>, u64)>;

    /// Applies a worker's decision in one transaction: score records upserted with a new
    /// version where they changed (history kept), students left off a replacing sheet
    /// removed, row errors stored, older processed or held sheets of the term marked
    /// superseded (by a replacing sheet only), the sheet's status, counts and changes set, and
    /// the affected students' stored semester results marked stale with a
    /// [`Job::RefreshResults`](eportal_core::jobs::Job::RefreshResults) queued to recompute
    /// them (see [`Results::refresh_results`]). A sheet judged under a book that is not the active one is not applied
    /// ([`ApplyOutcome::PolicyChanged`]). A replacing sheet
    /// that would remove scores without the lecturer's confirmation is held instead, with its
    /// changes and row errors stored and nothing applied. Idempotent: a sheet that is already
    /// final changes nothing.
    async fn apply_sheet(
        &self,
        sheet_id: i64,
        outcome: &SheetOutcome,
        book: &PolicyBook,
    ) -> PortResult<ApplyOutcome>;

    /// The lecturer confirms the removals of a held sheet: it is queued again, with a new
    /// processing job in the same transaction, to be applied removals and all.
    /// [`crate::PortError::Conflict`] if the sheet is not held.
    async fn confirm_sheet(
        &self,
        sheet_id: i64,
        request_id: Option<&str>,
    ) -> PortResult<SheetSummary>;

    /// Marks a sheet failed (its job was dead-lettered) with the reason.
    async fn fail_sheet(&self, sheet_id: i64, message: &str) -> PortResult<()>;

    /// Notes that a sheet's processing job failed and will be retried, with the error (for
    /// the registry's view of the jobs).
    async fn note_retry(&self, sheet_id: i64, error: &str) -> PortResult<()>;

    /// Of these sheets, those whose job was retried: (sheet id, retries, latest error).
    async fn sheet_retries(&self, ids: &[i64]) -> PortResult<Vec<(i64, u32, String)>>;

    /// Outbox entries not yet handed to the job queue, oldest first, at most `limit`.
    /// (The embedded deployment's queue *is* its outbox; relays use this for others.)
    async fn outbox_pending(&self, limit: u32) -> PortResult<Vec<(i64, Envelope)>>;

    /// Marks outbox entries as handed to the job queue.
    async fn outbox_done(&self, ids: &[i64]) -> PortResult<()>;
}

#[async_trait]
pub trait Results: Send + Sync {
    /// Every current course record of a student, whatever its workflow state, ordered by
    /// session, semester and course.
    async fn student_records(&self, matric: &MatricNo) -> PortResult<Vec<CourseRecord>>;
    /// The stored semester results (GPA and CGPA) of a student, in order.
    async fn semester_results(&self, matric: &MatricNo) -> PortResult<Vec<SemesterResult>>;
    /// Current records of a course result (one row per student).
    async fn course_records(&self, term: &CourseTerm) -> PortResult<Vec<CourseRecord>>;
    /// Every version a student's score in a course term has had, oldest first.
    async fn record_history(
        &self,
        matric: &MatricNo,
        term: &CourseTerm,
    ) -> PortResult<Vec<CourseRecord>>;
    /// Recomputes and stores the semester results of these students under `book` (each under
    /// their own policy).
    async fn recompute_results(&self, matrics: &[MatricNo], book: &PolicyBook) -> PortResult<()>;
    /// Recomputes the stored semester results of at most `limit` of the students an applied
    /// sheet marked stale (oldest marks first), under `book`, and clears their marks, in one
    /// transaction. A mark made while the refresh ran is kept for the next refresh, never
    /// cleared with results computed without it. `book` must be the active book, as for
    /// [`RecordStore::apply_sheet`]; otherwise nothing is done.
    async fn refresh_results(&self, book: &PolicyBook, limit: u32) -> PortResult<Refreshed>;
    /// How many students' stored semester results await a refresh.
    async fn stale_results(&self) -> PortResult<u64>;
}

/// What a [`Results::refresh_results`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refreshed {
    /// `students` were recomputed; `left` marks remain (some may be another refresh's).
    Done { students: u64, left: u64 },
    /// The book given is not the active one (a regrade switched); nothing was done.
    PolicyChanged { active: u32 },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CourseResultState {
    pub term: CourseTerm,
    pub state: WorkflowState,
    /// The reason given with the latest transition (only a return carries one, so this is
    /// set while the result is returned and cleared when it moves on).
    pub reason: Option<String>,
    pub updated_by: Option<String>,
    pub updated_at_ms: i64,
}

#[async_trait]
pub trait Workflow: Send + Sync {
    /// The workflow state of a course result; `Draft` if nothing has happened yet.
    async fn course_result(&self, term: &CourseTerm) -> PortResult<CourseResultState>;

    /// Moves a course result from `from` to `to` (recording who and why), failing with
    /// [`crate::PortError::Conflict`] if its state is no longer `from`.
    async fn transition(
        &self,
        term: &CourseTerm,
        from: WorkflowState,
        to: WorkflowState,
        actor: &str,
        reason: Option<&str>,
    ) -> PortResult<CourseResultState>;

    /// Course results in a given state (a reviewer's to-do list).
    async fn course_results_in(&self, state: WorkflowState) -> PortResult<Vec<CourseResultState>>;
}

/// The whole system of record.
#[async_trait]
pub trait RecordStore:
    Directory
    + Users
    + Sheets
    + Results
    + Workflow
    + crate::Ledger
    + crate::Documents
    + crate::Amendments
    + crate::Policies
    + Send
    + Sync
{
    /// Whether the engine answers (for `/readyz`).
    async fn ping(&self) -> PortResult<()>;
}
