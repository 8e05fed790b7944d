//! Contract suite for the rate-limit port (see mod.rs): GCRA as every [`RateLimits`]
//! adapter must apply it. Run it with `eportal_ports::rate_contract!(fresh)`, where
//! `async fn fresh() -> Arc<dyn RateLimits>` returns a subject with its own key prefix.
//!
//! Cases that involve time wait for the refusal's own `retry_after` instead of a guessed
//! amount, so they pass on a busy machine and cannot pass by luck.

use crate::rate::{Decision, Quota};
use crate::RateLimits;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

fn quota(burst: u32, period: Duration) -> Quota {
    Quota {
        burst: NonZeroU32::new(burst).expect("a burst of at least one"),
        period,
    }
}

fn key(name: &str) -> String {
    format!("contract:{name}")
}

async fn admit(limits: &dyn RateLimits, k: &str, q: Quota) -> Decision {
    limits.admit(k, q).await.expect("admit")
}

/// A burst up to the quota passes; the next request is refused and told to wait at most one
/// interval; another key has an allowance of its own.
pub async fn burst_then_refused(limits: Arc<dyn RateLimits>) {
    let q = quota(5, Duration::from_secs(60));
    let k = key("burst");
    for n in 1..=5 {
        assert_eq!(
            admit(limits.as_ref(), &k, q).await,
            Decision::Admitted,
            "request {n} of a burst of 5"
        );
    }
    match admit(limits.as_ref(), &k, q).await {
        Decision::Refused { retry_after } => assert!(
            retry_after > Duration::ZERO && retry_after <= q.interval(),
            "told to wait {retry_after:?}, the interval being {:?}",
            q.interval()
        ),
        Decision::Admitted => panic!("a sixth request within the burst's minute was admitted"),
    }
    assert_eq!(
        admit(limits.as_ref(), &key("burst-other"), q).await,
        Decision::Admitted,
        "another key has its own allowance"
    );
}

/// Once the burst is spent, requests are admitted one per interval: waiting what a refusal
/// said admits one request, and only one.
pub async fn steady_rate_after_the_burst(limits: Arc<dyn RateLimits>) {
    let q = quota(2, Duration::from_millis(600));
    let k = key("steady");
    assert_eq!(admit(limits.as_ref(), &k, q).await, Decision::Admitted);
    assert_eq!(admit(limits.as_ref(), &k, q).await, Decision::Admitted);
    for round in 0..3 {
        let wait = match admit(limits.as_ref(), &k, q).await {
            Decision::Refused { retry_after } => retry_after,
            Decision::Admitted => panic!("round {round}: admitted faster than the steady rate"),
        };
        assert!(wait <= q.interval(), "round {round}: told to wait {wait:?}");
        tokio::time::sleep(wait + Duration::from_millis(5)).await;
        assert_eq!(
            admit(limits.as_ref(), &k, q).await,
            Decision::Admitted,
            "round {round}: after waiting what the refusal said"
        );
    }
}

/// Concurrent requests on one key are counted exactly: no more than the burst gets in.
pub async fn concurrent_requests_counted_once(limits: Arc<dyn RateLimits>) {
    let q = quota(10, Duration::from_secs(60));
    let k = key("concurrent");
    let tasks: Vec<_> = (0..30)
        .map(|_| {
            let limits = limits.clone();
            let k = k.clone();
            tokio::spawn(async move { limits.admit(&k, q).await.expect("admit") })
        })
        .collect();
    let mut admitted = 0;
    for t in tasks {
        if t.await.expect("task") == Decision::Admitted {
            admitted += 1;
        }
    }
    assert_eq!(admitted, 10, "30 requests at once against a burst of 10");
}

/// Runs the rate-limit contract against `$fresh`, an `async fn() -> Arc<dyn RateLimits>`
/// returning an isolated subject each time it is called.
#[macro_export]
macro_rules! rate_contract {
    ($fresh:ident) => {
        mod rate_contract {
            $crate::rate_contract!(@cases $fresh;
                burst_then_refused, steady_rate_after_the_burst,
                concurrent_requests_counted_once);
        }
    };
    (@cases $fresh:ident; $($case:ident),+ $(,)?) => {
        $(
            #[::tokio::test]
            async fn $case() {
                $crate::contract::rate::$case(super::$fresh().await).await;
            }
        )+
    };
}
