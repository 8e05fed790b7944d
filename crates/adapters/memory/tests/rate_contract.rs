//! The rate-limit contract, run against the in-process limiter (governor).

use eportal_memory::LocalRateLimits;
use eportal_ports::rate::{Decision, Quota};
use eportal_ports::RateLimits;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

async fn fresh() -> Arc<dyn RateLimits> {
    Arc::new(LocalRateLimits::new())
}

eportal_ports::rate_contract!(fresh);

/// Memory goes back down after a storm: a key whose allowance is full again is forgotten.
#[tokio::test]
async fn keys_of_a_past_storm_are_forgotten() {
    let limits = LocalRateLimits::new();
    let q = Quota {
        burst: NonZeroU32::new(2).unwrap(),
        period: Duration::from_millis(100),
    };
    for n in 0..1000 {
        let d = limits
            .admit(&format!("ip:10.0.{}.{}", n / 256, n % 256), q)
            .await;
        assert_eq!(d.unwrap(), Decision::Admitted);
    }
    assert_eq!(limits.keys(), 1000);
    tokio::time::sleep(Duration::from_millis(150)).await;
    limits.sweep();
    assert_eq!(limits.keys(), 0, "every allowance is full again");
}
