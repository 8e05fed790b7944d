//! In-process GCRA rate limits ([`RateLimits`]) on governor: the limits of the embedded
//! deployment, where one process serves everyone. Each quota has one keyed limiter; a key
//! costs one timestamp. Keys whose allowance is full again are forgotten every few seconds
//! (governor's `retain_recent`), so the map holds only clients seen lately and memory goes
//! back down after a storm. Never use it where several processes must share one limit.

use async_trait::async_trait;
use eportal_ports::error::PortResult;
use eportal_ports::rate::{Decision, Quota};
use eportal_ports::RateLimits;
use governor::clock::{Clock, DefaultClock};
use governor::DefaultKeyedRateLimiter;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// How often forgotten keys are swept out.
const SWEEP_EVERY: Duration = Duration::from_secs(10);

type Limiter = DefaultKeyedRateLimiter<String>;

/// The in-process [`RateLimits`]. Cheap to clone: clones share the same limiters.
#[derive(Clone)]
pub struct LocalRateLimits {
    inner: Arc<Inner>,
}

struct Inner {
    /// One limiter per quota; a deployment uses one or two quotas, so a list is enough.
    limiters: RwLock<Vec<(Quota, Arc<Limiter>)>>,
    clock: DefaultClock,
    started: Instant,
    /// Milliseconds after `started` of the last sweep.
    swept_at_ms: AtomicU64,
}

impl Default for LocalRateLimits {
    fn default() -> Self {
        Self::new()
    }
}

impl LocalRateLimits {
    pub fn new() -> Self {
        LocalRateLimits {
            inner: Arc::new(Inner {
                limiters: RwLock::new(Vec::new()),
                clock: DefaultClock::default(),
                started: Instant::now(),
                swept_at_ms: AtomicU64::new(0),
            }),
        }
    }

    /// Keys held over all quotas (for tests of boundedness).
    pub fn keys(&self) -> usize {
        self.read().iter().map(|(_, l)| l.len()).sum()
    }

    /// Forgets every key whose allowance is full again, now.
    pub fn sweep(&self) {
        for (_, l) in self.read().iter() {
            l.retain_recent();
            l.shrink_to_fit();
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Vec<(Quota, Arc<Limiter>)>> {
        // A panic elsewhere while holding the lock leaves the list as it was: still usable.
        self.inner
            .limiters
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn limiter(&self, quota: Quota) -> Arc<Limiter> {
        if let Some((_, l)) = self.read().iter().find(|(q, _)| *q == quota) {
            return l.clone();
        }
        let mut all = self
            .inner
            .limiters
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((_, l)) = all.iter().find(|(q, _)| *q == quota) {
            return l.clone();
        }
        let q = governor::Quota::with_period(quota.interval())
            .expect("a non-zero interval")
            .allow_burst(quota.burst);
        let l = Arc::new(Limiter::keyed(q));
        all.push((quota, l.clone()));
        l
    }

    fn sweep_now_and_then(&self) {
        let now_ms = self.inner.started.elapsed().as_millis() as u64;
        let last = self.inner.swept_at_ms.load(Ordering::Relaxed);
        let due = now_ms.saturating_sub(last) >= SWEEP_EVERY.as_millis() as u64;
        // One caller wins the sweep; the others go on at once.
        if due
            && self
                .inner
                .swept_at_ms
                .compare_exchange(last, now_ms, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            self.sweep();
        }
    }
}

#[async_trait]
impl RateLimits for LocalRateLimits {
    async fn admit(&self, key: &str, quota: Quota) -> PortResult<Decision> {
        let limiter = self.limiter(quota);
        let decision = match limiter.check_key(&key.to_owned()) {
            Ok(()) => Decision::Admitted,
            Err(not_until) => Decision::Refused {
                retry_after: not_until
                    .wait_time_from(self.inner.clock.now())
                    .max(Duration::from_micros(1)),
            },
        };
        self.sweep_now_and_then();
        Ok(decision)
    }
}
