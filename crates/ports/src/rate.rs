//! Rate limits by the generic cell rate algorithm (GCRA): each key may spend a burst of
//! `burst` requests at once, and earns one back every `period / burst`, so a client that
//! keeps to the steady rate is never refused and one that floods is refused at once, told
//! exactly when its next request will be admitted. The state is one timestamp per key (the
//! "theoretical arrival time"), so a limit costs the same whatever its size.
//!
//! The embedded adapter keeps the state in this process; the distributed one on the shared
//! engine, in one atomic step, so the limit holds across every process of a deployment.

use crate::error::PortResult;
use async_trait::async_trait;
use std::num::NonZeroU32;
use std::time::Duration;

/// `burst` requests per `period`: at most `burst` at once, then one every `period / burst`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Quota {
    pub burst: NonZeroU32,
    pub period: Duration,
}

impl Quota {
    /// `n` requests a minute, all of which may come at once.
    pub fn per_minute(n: NonZeroU32) -> Quota {
        Quota {
            burst: n,
            period: Duration::from_secs(60),
        }
    }

    /// The time one request "costs": how often a spent request is earned back.
    pub fn interval(&self) -> Duration {
        (self.period / self.burst.get()).max(Duration::from_nanos(1))
    }
}

/// What the limit says about one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Admitted,
    /// Refused; a request made `retry_after` from now will be admitted (if none other is
    /// made on the same key meanwhile).
    Refused {
        retry_after: Duration,
    },
}

#[async_trait]
pub trait RateLimits: Send + Sync {
    /// Counts one request on `key` against `quota`, if the quota allows it now.
    async fn admit(&self, key: &str, quota: Quota) -> PortResult<Decision>;
}
