//! Rate-limit counters are shared by every process using the same Redis and prefix: two
//! connections stand for two portal processes.

mod common;

use eportal_ports::Cache;
use eportal_redis::{RedisCache, DEFAULT_OP_TIMEOUT};
use std::time::Duration;

async fn connect(prefix: &str) -> RedisCache {
    let url = common::shared_url();
    RedisCache::connect(&url, prefix, DEFAULT_OP_TIMEOUT)
        .await
        .unwrap_or_else(|e| {
            panic!("the shared Redis is unreachable ({e}); start it with ./scripts/services")
        })
}

#[tokio::test]
async fn two_processes_with_one_prefix_share_counters_and_values() {
    let prefix = common::unique_prefix();
    let (a, b) = (connect(&prefix).await, connect(&prefix).await);
    let window = Duration::from_secs(30);
    assert_eq!(a.hit("login:10.0.0.7", window).await.unwrap(), 1);
    assert_eq!(b.hit("login:10.0.0.7", window).await.unwrap(), 2);
    assert_eq!(a.hit("login:10.0.0.7", window).await.unwrap(), 3);

    a.put("result:U2020/001", b"cached", window).await.unwrap();
    assert_eq!(
        b.get("result:U2020/001").await.unwrap().as_deref(),
        Some(&b"cached"[..])
    );
    b.delete(&["result:U2020/001".to_owned()]).await.unwrap();
    assert_eq!(a.get("result:U2020/001").await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_hits_from_many_callers_are_each_counted_once() {
    let prefix = common::unique_prefix();
    let (a, b) = (connect(&prefix).await, connect(&prefix).await);
    let window = Duration::from_secs(30);
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let cache = if i % 2 == 0 { a.clone() } else { b.clone() };
            tokio::spawn(async move {
                let mut seen = Vec::new();
                for _ in 0..50 {
                    seen.push(cache.hit("burst", window).await.unwrap());
                }
                seen
            })
        })
        .collect();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all.sort_unstable();
    assert_eq!(all, (1..=400).collect::<Vec<u64>>());
}
