//! SQLite adapter: the embedded deployment's system of record and its durable job queue,
//! both in one WAL-mode file, so an upload's sheet row and its job commit together and a
//! `kill -9` loses neither.
//!
//! [`SqliteStore`] implements every [`eportal_ports::RecordStore`] trait; [`SqliteQueue`]
//! (from [`SqliteStore::queue`]) implements [`eportal_ports::JobQueue`] on the `jobs` table.
//! All writes go through one single-connection pool (SQLite has one writer anyway, and a
//! queue of our own avoids `SQLITE_BUSY` on lock upgrades); reads use a separate pool.
//! Nothing here may use compile-time checked queries: the crate builds without a database.

mod amendments;
mod apply;
mod checkpoint;
mod directory;
mod documents;
mod error;
mod import;
mod ledger;
mod policies;
mod queue;
mod regrade;
mod results;
mod rows;
mod sheets;
mod store;
mod users;
mod workflow;

pub use queue::SqliteQueue;
pub use store::{SqliteStore, DEFAULT_QUEUE};
