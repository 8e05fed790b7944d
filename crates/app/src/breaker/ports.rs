//! The port traits wrapped in a breaker: [`Guarded`] holds the real adapter and its engine's
//! breaker, and every call goes through [`Breaker::admit`] first. The forwarding is generated
//! by `guard!` from each trait's method list, so a method added to a port is one more line
//! here; the compiler refuses the impl until it is added.

use super::{Breaker, BreakerConfig};
use async_trait::async_trait;
use eportal_core::amendment::AmendmentStatus;
use eportal_core::jobs::Envelope;
use eportal_core::ledger::{Entry as LedgerEntry, HeadSignature};
use eportal_core::model::{
    Allocation, Course, CourseRecord, CourseTerm, Department, Faculty, Institution, Programme,
    Registration, SemesterResult, Staff, Student, UserAccount,
};
use eportal_core::regrade::RegradeRow;
use eportal_core::sheet::Roster;
use eportal_core::workflow::WorkflowState;
use eportal_core::{CourseCode, GradingPolicy, MatricNo, PolicyBook, Role};
use eportal_ports::amendments::{Amendment, Amendments, Approval, NewAmendment, Rejection};
use eportal_ports::documents::{Documents, IssuedDocument, Revocation};
use eportal_ports::error::PortResult;
use eportal_ports::store::CourseResultState;
use eportal_ports::{
    ApplyOutcome, Cache, Delivery, Directory, JobQueue, Ledger, NewSheet, QueueStats, RecordStore,
    Results, SheetOutcome, SheetReport, SheetStatus, SheetSummary, Sheets, Users, Workflow,
};
use eportal_ports::{Committed, Policies, Refreshed, Regrade, RegradeParts};
use std::sync::Arc;
use std::time::Duration;

/// An adapter behind its engine's breaker.
pub struct Guarded<T: ?Sized> {
    inner: Arc<T>,
    breaker: Arc<Breaker>,
}

impl<T: ?Sized> Guarded<T> {
    pub fn new(inner: Arc<T>, breaker: Arc<Breaker>) -> Guarded<T> {
        Guarded { inner, breaker }
    }
}

/// The breakers of one process, one per engine, for `/metrics` and `/readyz`.
#[derive(Clone)]
pub struct Breakers {
    pub store: Arc<Breaker>,
    pub cache: Arc<Breaker>,
    pub queue: Arc<Breaker>,
}

impl Breakers {
    pub fn new(config: &BreakerConfig) -> Breakers {
        Breakers {
            store: Arc::new(Breaker::new("store", config)),
            cache: Arc::new(Breaker::new("cache", config)),
            queue: Arc::new(Breaker::new("queue", config)),
        }
    }

    pub fn all(&self) -> [&Breaker; 3] {
        [&self.store, &self.cache, &self.queue]
    }

    /// Adds every breaker's series to the process's metrics.
    pub fn register(&self, metrics: &crate::telemetry::Metrics) {
        for b in self.all() {
            for c in b.collectors() {
                metrics.register(c);
            }
        }
    }

    /// Wraps the three adapters in their breakers.
    pub fn guard(
        &self,
        store: Arc<dyn RecordStore>,
        cache: Arc<dyn Cache>,
        queue: Arc<dyn JobQueue>,
    ) -> (Arc<dyn RecordStore>, Arc<dyn Cache>, Arc<dyn JobQueue>) {
        (
            Arc::new(Guarded::new(store, self.store.clone())),
            Arc::new(Guarded::new(cache, self.cache.clone())),
            Arc::new(Guarded::new(queue, self.queue.clone())),
        )
    }
}

/// `impl Trait for Guarded<dyn Port>`, each method admitted by the breaker, then forwarded.
macro_rules! guard {
    ($port:ty: $trait:ident { $(fn $name:ident(&self $(, $arg:ident: $ty:ty)*) -> $ret:ty;)* }) => {
        #[async_trait]
        impl $trait for Guarded<$port> {
            $(async fn $name(&self $(, $arg: $ty)*) -> PortResult<$ret> {
                let permit = self.breaker.admit()?;
                permit.settle(self.inner.$name($($arg),*).await)
            })*
        }
    };
}

guard!(dyn RecordStore: Directory {
    fn put_institution(&self, inst: &Institution, policy: &GradingPolicy) -> ();
    fn institution(&self) -> Option<(Institution, GradingPolicy)>;
    fn upsert_faculties(&self, rows: &[Faculty]) -> u64;
    fn upsert_departments(&self, rows: &[Department]) -> u64;
    fn upsert_programmes(&self, rows: &[Programme]) -> u64;
    fn upsert_students(&self, rows: &[Student]) -> u64;
    fn upsert_staff(&self, rows: &[Staff]) -> u64;
    fn upsert_courses(&self, rows: &[Course]) -> u64;
    fn upsert_allocations(&self, rows: &[Allocation]) -> u64;
    fn upsert_registrations(&self, rows: &[Registration]) -> u64;
    fn faculties(&self) -> Vec<Faculty>;
    fn departments(&self) -> Vec<Department>;
    fn programmes(&self) -> Vec<Programme>;
    fn students(&self, limit: u32, offset: u32) -> Vec<Student>;
    fn count_students(&self) -> u64;
    fn student(&self, matric: &MatricNo) -> Option<Student>;
    fn staff(&self, staff_id: &str) -> Option<Staff>;
    fn staff_with_role(&self, role: Role) -> Vec<Staff>;
    fn course(&self, code: &CourseCode) -> Option<Course>;
    fn courses(&self) -> Vec<Course>;
    fn allocations(&self, term: &CourseTerm) -> Vec<String>;
    fn allocations_of(&self, staff_id: &str) -> Vec<CourseTerm>;
    fn roster(&self, term: &CourseTerm, matrics: &[MatricNo]) -> Roster;
    fn registered(&self, term: &CourseTerm) -> Vec<MatricNo>;
    fn registered_students(&self, term: &CourseTerm) -> Vec<Student>;
});

guard!(dyn RecordStore: Users {
    fn upsert_users(&self, rows: &[UserAccount]) -> u64;
    fn user(&self, username: &str) -> Option<UserAccount>;
    fn session_version(&self, username: &str) -> Option<u64>;
    fn end_sessions(&self, username: &str) -> u64;
    fn set_password(&self, username: &str, password_hash: &str) -> u64;
    fn reset_password(&self, username: &str, password_hash: &str) -> u64;
    fn password_change_required(&self, username: &str) -> bool;
    fn require_password_change(&self, usernames: &[String]) -> ();
    fn setting_or_init(&self, key: &str, value: &str) -> String;
});

guard!(dyn RecordStore: Sheets {
    fn submit_sheet(&self, sheet: &NewSheet, request_id: Option<&str>) -> (SheetSummary, bool);
    fn sheet(&self, id: i64) -> Option<SheetReport>;
    fn sheets_for(&self, term: &CourseTerm) -> Vec<SheetSummary>;
    fn all_sheets(&self, status: Option<SheetStatus>, limit: u32, offset: u32) -> (Vec<SheetSummary>, u64);
    fn apply_sheet(&self, sheet_id: i64, outcome: &SheetOutcome, book: &PolicyBook) -> ApplyOutcome;
    fn confirm_sheet(&self, sheet_id: i64, request_id: Option<&str>) -> SheetSummary;
    fn fail_sheet(&self, sheet_id: i64, message: &str) -> ();
    fn note_retry(&self, sheet_id: i64, error: &str) -> ();
    fn sheet_retries(&self, ids: &[i64]) -> Vec<(i64, u32, String)>;
    fn outbox_pending(&self, limit: u32) -> Vec<(i64, Envelope)>;
    fn outbox_done(&self, ids: &[i64]) -> ();
});

guard!(dyn RecordStore: Results {
    fn student_records(&self, matric: &MatricNo) -> Vec<CourseRecord>;
    fn semester_results(&self, matric: &MatricNo) -> Vec<SemesterResult>;
    fn course_records(&self, term: &CourseTerm) -> Vec<CourseRecord>;
    fn record_history(&self, matric: &MatricNo, term: &CourseTerm) -> Vec<CourseRecord>;
    fn recompute_results(&self, matrics: &[MatricNo], book: &PolicyBook) -> ();
    fn refresh_results(&self, book: &PolicyBook, limit: u32) -> Refreshed;
    fn stale_results(&self) -> u64;
});

guard!(dyn RecordStore: Workflow {
    fn course_result(&self, term: &CourseTerm) -> CourseResultState;
    fn transition(&self, term: &CourseTerm, from: WorkflowState, to: WorkflowState, actor: &str, reason: Option<&str>) -> CourseResultState;
    fn course_results_in(&self, state: WorkflowState) -> Vec<CourseResultState>;
});

guard!(dyn RecordStore: Ledger {
    fn ledger_entries(&self, after: i64, limit: u32) -> Vec<LedgerEntry>;
    fn ledger_head(&self) -> Option<(i64, String)>;
    fn ledger_signatures(&self) -> Vec<HeadSignature>;
    fn last_ledger_signature(&self) -> Option<HeadSignature>;
    fn add_ledger_signature(&self, signature: &HeadSignature) -> bool;
});

guard!(dyn RecordStore: Documents {
    fn record_document(&self, doc: &IssuedDocument) -> ();
    fn document(&self, code: &str) -> Option<IssuedDocument>;
    fn revoke_document(&self, code: &str, revocation: &Revocation) -> IssuedDocument;
});

guard!(dyn RecordStore: Amendments {
    fn request_amendment(&self, amendment: &NewAmendment, request_id: Option<&str>) -> Amendment;
    fn amendment(&self, id: i64) -> Option<Amendment>;
    fn amendments_for(&self, term: &CourseTerm) -> Vec<Amendment>;
    fn amendments_in(&self, status: AmendmentStatus) -> Vec<Amendment>;
    fn approve_amendment(&self, id: i64, step: usize, by: &Approval, request_id: Option<&str>) -> Amendment;
    fn reject_amendment(&self, id: i64, step: usize, rejection: &Rejection) -> Amendment;
});

guard!(dyn RecordStore: Policies {
    fn active_policy(&self) -> Option<PolicyBook>;
    fn active_policy_version(&self) -> u32;
    fn graded_records(&self, matric: &MatricNo) -> (Vec<CourseRecord>, Option<u32>);
    fn policy_book(&self, version: u32) -> Option<PolicyBook>;
    fn start_regrade(&self, book: &PolicyBook, parts: RegradeParts, started_by: &str) -> Regrade;
    fn regrade(&self, id: i64) -> Option<Regrade>;
    fn regrades(&self, limit: u32) -> Vec<Regrade>;
    fn graded_terms(&self) -> Vec<CourseTerm>;
    fn regrade_rows(&self, terms: &[CourseTerm]) -> Vec<RegradeRow>;
    fn finish_map(&self, regrade_id: i64, part: u32, rows: &[RegradeRow], changed: u64) -> bool;
    fn reduce_rows(&self, regrade_id: i64, part: u32) -> Vec<RegradeRow>;
    fn finish_reduce(&self, regrade_id: i64, part: u32, results: &[SemesterResult]) -> bool;
    fn commit_regrade(&self, regrade_id: i64) -> Committed;
    fn fail_regrade(&self, regrade_id: i64, message: &str) -> ();
});

guard!(dyn RecordStore: RecordStore {
    fn ping(&self) -> ();
});

guard!(dyn Cache: Cache {
    fn get(&self, key: &str) -> Option<Vec<u8>>;
    fn put(&self, key: &str, value: &[u8], ttl: Duration) -> ();
    fn delete(&self, keys: &[String]) -> ();
    fn hit(&self, key: &str, window: Duration) -> u64;
    fn ping(&self) -> ();
});

guard!(dyn JobQueue: JobQueue {
    fn publish(&self, envelope: &Envelope) -> ();
    fn receive(&self, lease: Duration) -> Option<Delivery>;
    fn ack(&self, delivery: &Delivery) -> ();
    fn retry(&self, delivery: &Delivery, delay: Duration, error: &str) -> ();
    fn dead_letter(&self, delivery: &Delivery, error: &str) -> ();
    fn stats(&self) -> QueueStats;
});
