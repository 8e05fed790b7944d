//! Contract suite for the cache port (see mod.rs): what every [`Cache`] adapter must do,
//! whatever its engine. Run it with `eportal_ports::cache_contract!(fresh)`, where
//! `async fn fresh() -> Arc<dyn Cache>` returns a subject with its own key prefix, so cases
//! may run in parallel against one shared engine.
//!
//! Cases that involve time (TTL, rate-limit windows) poll with a bound instead of sleeping
//! for an exact amount: they must never pass by luck nor fail on a busy machine. Every key
//! they write carries a short TTL, so nothing lingers in a shared engine after a run.

use crate::Cache;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long any value written by the suite may live.
const LONG: Duration = Duration::from_secs(60);

fn key(name: &str) -> String {
    format!("contract:{name}")
}

pub async fn get_miss(cache: Arc<dyn Cache>) {
    let got = cache.get(&key("never-written")).await.expect("get");
    assert_eq!(got, None, "a key never written must be a miss");
}

pub async fn put_get(cache: Arc<dyn Cache>) {
    let k = key("put-get");
    cache
        .put(&k, b"results of CSC101", LONG)
        .await
        .expect("put");
    let got = cache.get(&k).await.expect("get");
    assert_eq!(got.as_deref(), Some(&b"results of CSC101"[..]));
}

pub async fn overwrite(cache: Arc<dyn Cache>) {
    let k = key("overwrite");
    cache.put(&k, b"first", LONG).await.expect("first put");
    cache
        .put(&k, b"second, longer", LONG)
        .await
        .expect("second put");
    let got = cache.get(&k).await.expect("get");
    assert_eq!(got.as_deref(), Some(&b"second, longer"[..]));

    // A shorter value after a longer one must not keep a tail of the old one.
    cache.put(&k, b"3", LONG).await.expect("third put");
    assert_eq!(
        cache.get(&k).await.expect("get").as_deref(),
        Some(&b"3"[..])
    );
}

pub async fn ttl_expiry(cache: Arc<dyn Cache>) {
    let ttl = Duration::from_millis(400);
    let short = key("ttl-short");
    let long = key("ttl-long");
    cache.put(&long, b"stays", LONG).await.expect("put long");

    let start = Instant::now();
    cache.put(&short, b"goes", ttl).await.expect("put short");
    let first = cache.get(&short).await.expect("get");
    // Only meaningful if the machine was quick enough to read before the TTL ran out.
    if start.elapsed() < ttl {
        assert_eq!(
            first.as_deref(),
            Some(&b"goes"[..]),
            "read back before its TTL"
        );
    }

    let deadline = start + ttl + Duration::from_secs(3);
    let gone_after = loop {
        if cache
            .get(&short)
            .await
            .expect("get while polling")
            .is_none()
        {
            break start.elapsed();
        }
        assert!(
            Instant::now() < deadline,
            "a value with a {ttl:?} TTL was still there after {:?}",
            start.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    // Engines count time in whole milliseconds; allow for that rounding, nothing more.
    assert!(
        gone_after + Duration::from_millis(20) >= ttl,
        "a value with a {ttl:?} TTL vanished after only {gone_after:?}"
    );
    let kept = cache.get(&long).await.expect("get long");
    assert_eq!(
        kept.as_deref(),
        Some(&b"stays"[..]),
        "the long-lived key expired too"
    );
}

pub async fn delete_several(cache: Arc<dyn Cache>) {
    let (a, b, c) = (key("del-a"), key("del-b"), key("del-c"));
    for k in [&a, &b, &c] {
        cache.put(k, k.as_bytes(), LONG).await.expect("put");
    }
    cache
        .delete(&[a.clone(), c.clone(), key("del-never-written")])
        .await
        .expect("delete with a missing key");
    assert_eq!(cache.get(&a).await.expect("get a"), None);
    assert_eq!(cache.get(&c).await.expect("get c"), None);
    assert_eq!(
        cache.get(&b).await.expect("get b").as_deref(),
        Some(b.as_bytes()),
        "a key not named in delete must stay"
    );
    cache.delete(&[]).await.expect("deleting no keys is fine");
    cache
        .delete(std::slice::from_ref(&a))
        .await
        .expect("deleting a deleted key is fine");
}

/// Sleeps until `at_ms` (milliseconds since the Unix epoch) has passed.
async fn sleep_until_ms(at_ms: i64) {
    let now = crate::now_ms();
    if at_ms > now {
        tokio::time::sleep(Duration::from_millis((at_ms - now) as u64)).await;
    }
}

pub async fn hit_windows(cache: Arc<dyn Cache>) {
    let window = Duration::from_secs(1);
    let w = window.as_millis() as i64;
    let k = key("hits");
    let other = key("hits-other");

    // Start just after a window boundary so the three hits surely share one window,
    // whether the engine aligns windows to the clock or starts one at the first hit.
    sleep_until_ms((crate::now_ms() / w + 1) * w + 10).await;
    let first_at = crate::now_ms();
    let counts = [
        cache.hit(&k, window).await.expect("hit 1"),
        cache.hit(&k, window).await.expect("hit 2"),
        cache.hit(&k, window).await.expect("hit 3"),
    ];
    let took = crate::now_ms() - first_at;
    assert!(
        took < w - 50,
        "three hits took {took} ms, longer than the window allows"
    );
    assert_eq!(counts, [1, 2, 3], "hits within one window count up from 1");
    assert_eq!(
        cache.hit(&other, window).await.expect("hit other"),
        1,
        "another key has its own counter"
    );

    sleep_until_ms(first_at + w + 100).await;
    assert_eq!(
        cache.hit(&k, window).await.expect("hit in next window"),
        1,
        "the count restarts at 1 in the next window"
    );
    assert_eq!(cache.hit(&k, window).await.expect("hit in next window"), 2);
}

/// `a` and `b` use the same engine with different key prefixes.
pub async fn prefixes_isolated(a: Arc<dyn Cache>, b: Arc<dyn Cache>) {
    let k = key("shared-name");
    a.put(&k, b"from a", LONG).await.expect("put a");
    assert_eq!(b.get(&k).await.expect("get b"), None, "b sees a's key");
    b.put(&k, b"from b", LONG).await.expect("put b");
    assert_eq!(
        a.get(&k).await.expect("get a").as_deref(),
        Some(&b"from a"[..])
    );
    assert_eq!(
        b.get(&k).await.expect("get b").as_deref(),
        Some(&b"from b"[..])
    );

    b.delete(std::slice::from_ref(&k)).await.expect("delete b");
    assert_eq!(
        a.get(&k).await.expect("get a").as_deref(),
        Some(&b"from a"[..]),
        "b's delete removed a's key"
    );

    let window = Duration::from_secs(30);
    let counter = key("shared-counter");
    assert_eq!(a.hit(&counter, window).await.expect("hit a"), 1);
    assert_eq!(a.hit(&counter, window).await.expect("hit a"), 2);
    assert_eq!(
        b.hit(&counter, window).await.expect("hit b"),
        1,
        "b counts a's hits"
    );
}

pub async fn binary_values(cache: Arc<dyn Cache>) {
    let every_byte: Vec<u8> = (0..=255u8).collect();
    let k = key("bytes");
    cache
        .put(&k, &every_byte, LONG)
        .await
        .expect("put every byte");
    assert_eq!(
        cache.get(&k).await.expect("get").as_deref(),
        Some(&every_byte[..])
    );

    // An empty value is a hit, not a miss.
    let empty = key("empty");
    cache.put(&empty, b"", LONG).await.expect("put empty");
    assert_eq!(
        cache.get(&empty).await.expect("get empty"),
        Some(Vec::new())
    );

    let big: Vec<u8> = (0..1_000_000u32)
        .map(|i| (i.wrapping_mul(31) % 251) as u8)
        .collect();
    let bk = key("big");
    cache.put(&bk, &big, LONG).await.expect("put 1 MB");
    let got = cache
        .get(&bk)
        .await
        .expect("get 1 MB")
        .expect("1 MB value present");
    assert!(got == big, "a 1 MB value came back different");

    // Keys are text, and any text will do.
    let odd = key("CSC 101/2024-2025:first ✓");
    cache
        .put(&odd, b"odd key", LONG)
        .await
        .expect("put odd key");
    assert_eq!(
        cache.get(&odd).await.expect("get odd").as_deref(),
        Some(&b"odd key"[..])
    );
    cache.delete(&[k, empty, bk, odd]).await.expect("clean up");
}

pub async fn ping(cache: Arc<dyn Cache>) {
    cache.ping().await.expect("ping a running engine");
}

/// Runs the cache contract against `$fresh`, an `async fn() -> Arc<dyn Cache>` in scope that
/// returns an isolated subject (own key prefix) each time it is called. Expands to a module
/// `cache_contract` with one `#[tokio::test]` per case; the caller needs `tokio` (with
/// `macros` and `rt`) in its dev-dependencies.
#[macro_export]
macro_rules! cache_contract {
    ($fresh:ident) => {
        mod cache_contract {
            $crate::cache_contract!(@cases $fresh;
                get_miss, put_get, overwrite, ttl_expiry, delete_several, hit_windows,
                binary_values, ping);

            #[::tokio::test]
            async fn prefixes_isolated() {
                $crate::contract::cache::prefixes_isolated(super::$fresh().await, super::$fresh().await)
                    .await;
            }
        }
    };
    (@cases $fresh:ident; $($case:ident),+ $(,)?) => {
        $(
            #[::tokio::test]
            async fn $case() {
                $crate::contract::cache::$case(super::$fresh().await).await;
            }
        )+
    };
}
