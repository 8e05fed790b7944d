//! Contract test suites: one per port, run by every adapter of that port from its own
//! `tests/` (enable this crate's `contract` feature in dev-dependencies).
//!
//! Each suite is a set of `pub async fn case(subject)` functions plus a macro that expands
//! to one `#[tokio::test]` per case, given an async factory that builds a fresh, isolated
//! subject (own database, own queue names, own key prefix), so cases can run in parallel:
//!
//! ```ignore
//! eportal_ports::store_contract!(fresh_store);   // async fn fresh_store() -> Arc<dyn RecordStore>
//! ```

pub mod blob;
pub mod cache;
pub mod queue;
pub mod rate;
pub mod store;
