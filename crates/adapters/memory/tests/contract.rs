//! The cache contract, run against the in-process adapter.

use eportal_memory::MemoryCache;
use eportal_ports::Cache;
use std::sync::Arc;

async fn fresh() -> Arc<dyn Cache> {
    Arc::new(MemoryCache::new(10_000))
}

eportal_ports::cache_contract!(fresh);
