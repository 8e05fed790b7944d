//! The rate-limit contract (GCRA in one Lua script), run against the shared Redis with a
//! fresh key prefix per subject.

mod common;

use eportal_ports::RateLimits;
use eportal_redis::{RedisCache, DEFAULT_OP_TIMEOUT};
use std::sync::Arc;

async fn fresh() -> Arc<dyn RateLimits> {
    let url = common::shared_url();
    match RedisCache::connect(&url, &common::unique_prefix(), DEFAULT_OP_TIMEOUT).await {
        Ok(cache) => Arc::new(cache),
        Err(e) => panic!("the shared Redis is unreachable ({e}); start it with ./scripts/services"),
    }
}

eportal_ports::rate_contract!(fresh);
