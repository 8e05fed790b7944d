//! In-process cache adapter (moka) with local rate-limit counters: the [`Cache`] of the
//! embedded deployment, where one process serves everyone.
//!
//! Everything here lives in this process's memory and dies with it; it must never be used
//! where several processes have to agree (a distributed deployment's rate limits need the
//! Redis adapter). It must never grow without bound either: both the values and the
//! counters are capped at `max_entries` each, and moka evicts the least useful first.

mod rate;

pub use rate::LocalRateLimits;

use async_trait::async_trait;
use eportal_ports::error::PortResult;
use eportal_ports::Cache;
use moka::future::Cache as Moka;
use moka::Expiry;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Longer TTLs and windows are cut to this: moka adds the TTL to an `Instant`, which must
/// not overflow, and nothing in a cache is worth keeping for a year anyway.
const MAX_TTL: Duration = Duration::from_secs(365 * 24 * 3600);

struct Value {
    bytes: Arc<[u8]>,
    ttl: Duration,
}

/// One rate-limit window of one key.
struct Counter {
    count: AtomicU64,
    /// Milliseconds since the Unix epoch at which the window closes.
    ends_at_ms: i64,
}

/// Each value lives for the TTL it was put with, counted again from every put.
struct ValueExpiry;

impl Expiry<String, Arc<Value>> for ValueExpiry {
    fn expire_after_create(&self, _: &String, v: &Arc<Value>, _: Instant) -> Option<Duration> {
        Some(v.ttl)
    }

    fn expire_after_update(
        &self,
        _: &String,
        v: &Arc<Value>,
        _: Instant,
        _: Option<Duration>,
    ) -> Option<Duration> {
        Some(v.ttl)
    }
}

/// A counter lives until its window closes: after that nobody asks for it again.
struct CounterExpiry;

impl Expiry<(String, i64), Arc<Counter>> for CounterExpiry {
    fn expire_after_create(
        &self,
        _: &(String, i64),
        c: &Arc<Counter>,
        _: Instant,
    ) -> Option<Duration> {
        let left = (c.ends_at_ms - eportal_ports::now_ms()).max(0);
        Some(Duration::from_millis(left as u64))
    }
}

/// The in-process [`Cache`]. Cheap to clone: clones share the same entries.
#[derive(Clone)]
pub struct MemoryCache {
    values: Moka<String, Arc<Value>>,
    /// Keyed by (key, window index), the index being the number of whole windows since the
    /// Unix epoch, so windows line up with the clock.
    counters: Moka<(String, i64), Arc<Counter>>,
}

impl MemoryCache {
    /// A cache holding at most `max_entries` values (and as many rate-limit counters).
    pub fn new(max_entries: u64) -> Self {
        MemoryCache {
            values: Moka::builder()
                .max_capacity(max_entries)
                .expire_after(ValueExpiry)
                .build(),
            counters: Moka::builder()
                .max_capacity(max_entries)
                .expire_after(CounterExpiry)
                .build(),
        }
    }

    /// How many values are held now (approximate: moka applies evictions in batches).
    pub fn entry_count(&self) -> u64 {
        self.values.entry_count()
    }

    /// Applies pending evictions and expirations now instead of on moka's next batch, so
    /// [`MemoryCache::entry_count`] is exact afterwards.
    pub async fn run_pending_tasks(&self) {
        self.values.run_pending_tasks().await;
        self.counters.run_pending_tasks().await;
    }
}

#[async_trait]
impl Cache for MemoryCache {
    async fn get(&self, key: &str) -> PortResult<Option<Vec<u8>>> {
        Ok(self.values.get(key).await.map(|v| v.bytes.to_vec()))
    }

    async fn put(&self, key: &str, value: &[u8], ttl: Duration) -> PortResult<()> {
        if ttl.is_zero() {
            // Nothing may be kept for zero time, and an older value must not survive either.
            self.values.invalidate(key).await;
            return Ok(());
        }
        let value = Value {
            bytes: Arc::from(value),
            ttl: ttl.min(MAX_TTL),
        };
        self.values.insert(key.to_owned(), Arc::new(value)).await;
        Ok(())
    }

    async fn delete(&self, keys: &[String]) -> PortResult<()> {
        for key in keys {
            self.values.invalidate(key).await;
        }
        Ok(())
    }

    async fn hit(&self, key: &str, window: Duration) -> PortResult<u64> {
        let window_ms = (window.min(MAX_TTL).as_millis() as i64).max(1);
        let index = eportal_ports::now_ms() / window_ms;
        // get_with inserts at most once per key even under concurrent callers, so every
        // caller in this window increments the same counter.
        let counter = self
            .counters
            .get_with((key.to_owned(), index), async move {
                Arc::new(Counter {
                    count: AtomicU64::new(0),
                    ends_at_ms: (index + 1) * window_ms,
                })
            })
            .await;
        Ok(counter.count.fetch_add(1, Ordering::Relaxed) + 1)
    }

    async fn ping(&self) -> PortResult<()> {
        Ok(())
    }
}
