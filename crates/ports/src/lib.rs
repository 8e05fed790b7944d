//! The ports of eportal: one small trait per kind of engine. The services and entrypoints
//! hold them as `Arc<dyn Trait>` and never name an engine; each adapter crate implements one
//! of them for one engine, and proves it by running the contract suite in [`contract`].
//!
//! | port | embedded adapter | distributed adapter |
//! |---|---|---|
//! | [`RecordStore`] (with [`Documents`]) | SQLite | PostgreSQL |
//! | [`JobQueue`] | queue table in the SQLite file | RabbitMQ quorum queues |
//! | [`Cache`] | in-process (quick_cache) | Redis |
//! | [`BlobStore`] | local directory | (same) |
//! | [`RateLimits`] | in-process (governor) | Redis (one Lua script) |
//! | [`Notifier`] | a file of messages (`outbox.jsonl`) | SMTP relay |

pub mod amendments;
pub mod blob;
pub mod cache;
pub mod changes;
pub mod documents;
pub mod error;
pub mod ledger;
pub mod notify;
pub mod policies;
pub mod queue;
pub mod rate;
pub mod store;

#[cfg(feature = "contract")]
pub mod contract;

pub use amendments::{Amendment, Amendments, Approval, NewAmendment, Rejection};
pub use blob::BlobStore;
pub use cache::Cache;
pub use documents::{DocumentKind, Documents, IssuedDocument, Revocation};
pub use error::PortError;
pub use ledger::Ledger;
pub use notify::{Notice, Notifier};
pub use policies::{Committed, Policies, Regrade, RegradeParts, RegradeStatus};
pub use queue::{Delivery, JobQueue, QueueStats};
pub use rate::RateLimits;
pub use store::{
    ApplyOutcome, Directory, NewSheet, RecordStore, Refreshed, Results, SheetChanges, SheetMode,
    SheetOutcome, SheetReport, SheetStatus, SheetSummary, Sheets, Users, Workflow,
};

/// Milliseconds since the Unix epoch: how every adapter stores time, so rows are comparable
/// across engines.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
