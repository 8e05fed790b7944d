//! In-process cache adapter with local rate-limit counters: the [`Cache`] of the embedded
//! deployment, where one process serves everyone.
//!
//! Values are held in quick_cache, whose reads take a shard's read lock and nothing else:
//! every cached results read asks twice (the session version, then the results), and moka's
//! reads, which also record each access for its eviction policy and look at the clock for
//! every entry's expiry, were an eighth of the portal's CPU under a results-day load.
//! A value's expiry is kept beside it and checked on read. The counters stay on moka, whose
//! `get_with` inserts a window's counter exactly once however many callers race for it.
//!
//! Everything here lives in this process's memory and dies with it; it must never be used
//! where several processes have to agree (a distributed deployment's rate limits need the
//! Redis adapter). It must never grow without bound either: both the values and the
//! counters are capped at `max_entries` each, and the least useful are evicted first.

mod rate;

pub use rate::LocalRateLimits;

use async_trait::async_trait;
use eportal_ports::error::PortResult;
use eportal_ports::Cache;
use moka::future::Cache as Moka;
use moka::Expiry;
use quick_cache::sync::Cache as Values;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Longer TTLs and windows are cut to this: a TTL is added to an `Instant`, which must not
/// overflow, and nothing in a cache is worth keeping for a year anyway.
const MAX_TTL: Duration = Duration::from_secs(365 * 24 * 3600);

/// A value and when it expires (each put starts its TTL afresh).
#[derive(Clone)]
struct Value {
    bytes: Arc<[u8]>,
    expires: Instant,
}

/// One rate-limit window of one key.
struct Counter {
    count: AtomicU64,
    /// Milliseconds since the Unix epoch at which the window closes.
    ends_at_ms: i64,
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
    values: Arc<Values<String, Value>>,
    /// Keyed by (key, window index), the index being the number of whole windows since the
    /// Unix epoch, so windows line up with the clock.
    counters: Moka<(String, i64), Arc<Counter>>,
}

impl MemoryCache {
    /// A cache holding at most `max_entries` values (and as many rate-limit counters).
    pub fn new(max_entries: u64) -> Self {
        MemoryCache {
            values: Arc::new(Values::new(
                usize::try_from(max_entries).unwrap_or(usize::MAX),
            )),
            counters: Moka::builder()
                .max_capacity(max_entries)
                .expire_after(CounterExpiry)
                .build(),
        }
    }

    /// How many values are held now (expired ones included until they are read or
    /// evicted).
    pub fn entry_count(&self) -> u64 {
        self.values.len() as u64
    }

    /// Applies the counters' pending evictions and expirations now instead of on moka's next
    /// batch (values are evicted as they are put).
    pub async fn run_pending_tasks(&self) {
        self.counters.run_pending_tasks().await;
    }
}

#[async_trait]
impl Cache for MemoryCache {
    async fn get(&self, key: &str) -> PortResult<Option<Vec<u8>>> {
        let Some(value) = self.values.get(key) else {
            return Ok(None);
        };
        if value.expires <= Instant::now() {
            // Expired: gone for every reader, unless a new value was put meanwhile.
            self.values
                .remove_if(key, |v| Arc::ptr_eq(&v.bytes, &value.bytes));
            return Ok(None);
        }
        Ok(Some(value.bytes.to_vec()))
    }

    async fn put(&self, key: &str, value: &[u8], ttl: Duration) -> PortResult<()> {
        if ttl.is_zero() {
            // Nothing may be kept for zero time, and an older value must not survive either.
            self.values.remove(key);
            return Ok(());
        }
        let value = Value {
            bytes: Arc::from(value),
            expires: Instant::now() + ttl.min(MAX_TTL),
        };
        self.values.insert(key.to_owned(), value);
        Ok(())
    }

    async fn delete(&self, keys: &[String]) -> PortResult<()> {
        for key in keys {
            self.values.remove(key.as_str());
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
