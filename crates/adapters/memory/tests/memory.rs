//! What the in-process cache promises beyond the contract: bounded size, a zero TTL, and
//! counters that stay exact under concurrent callers.

use eportal_memory::MemoryCache;
use eportal_ports::Cache;
use std::time::Duration;

#[tokio::test]
async fn never_holds_more_than_max_entries() {
    let cache = MemoryCache::new(50);
    for i in 0..2_000 {
        let key = format!("student:{i}");
        cache
            .put(&key, key.as_bytes(), Duration::from_secs(60))
            .await
            .unwrap();
    }
    cache.run_pending_tasks().await;
    let held = cache.entry_count();
    assert!(held <= 50, "a cache capped at 50 entries holds {held}");
    assert!(held > 0, "the cache kept nothing at all");
}

#[tokio::test]
async fn zero_ttl_keeps_nothing_and_drops_the_old_value() {
    let cache = MemoryCache::new(100);
    cache
        .put("k", b"old", Duration::from_secs(60))
        .await
        .unwrap();
    cache.put("k", b"new", Duration::ZERO).await.unwrap();
    assert_eq!(cache.get("k").await.unwrap(), None);
}

#[tokio::test]
async fn ttl_is_reset_by_a_new_put() {
    let cache = MemoryCache::new(100);
    cache
        .put("k", b"short", Duration::from_millis(100))
        .await
        .unwrap();
    cache
        .put("k", b"long", Duration::from_secs(60))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(cache.get("k").await.unwrap().as_deref(), Some(&b"long"[..]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_hits_are_counted_exactly_once_each() {
    let cache = MemoryCache::new(1_000);
    let window = Duration::from_secs(3600);
    // Stay clear of an hour boundary so every hit lands in the same window.
    let into_window = eportal_ports::now_ms() % 3_600_000;
    if into_window > 3_590_000 {
        tokio::time::sleep(Duration::from_millis(
            (3_600_000 - into_window + 100) as u64,
        ))
        .await;
    }
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let cache = cache.clone();
            tokio::spawn(async move {
                let mut seen = Vec::new();
                for _ in 0..100 {
                    seen.push(cache.hit("login:10.0.0.1", window).await.unwrap());
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
    assert_eq!(
        all,
        (1..=800).collect::<Vec<u64>>(),
        "each hit must get its own count"
    );
}
