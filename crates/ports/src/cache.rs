//! The cache behind API-mode reads, and the counters behind rate limits. A cache may lose
//! anything at any time: callers treat a miss or an error as "read the store".

use crate::error::PortResult;
use async_trait::async_trait;
use std::time::Duration;

#[async_trait]
pub trait Cache: Send + Sync {
    async fn get(&self, key: &str) -> PortResult<Option<Vec<u8>>>;

    /// Stores `value` under `key` for at most `ttl`.
    async fn put(&self, key: &str, value: &[u8], ttl: Duration) -> PortResult<()>;

    /// Removes the keys (missing keys are fine).
    async fn delete(&self, keys: &[String]) -> PortResult<()>;

    /// Counts one more hit on `key` in the current fixed window of length `window` and
    /// returns the count so far in that window (1 for the first hit). Shared by every
    /// process using the same engine, so limits hold across a cluster.
    async fn hit(&self, key: &str, window: Duration) -> PortResult<u64>;

    /// Whether the engine answers (for `/readyz`).
    async fn ping(&self) -> PortResult<()>;
}
