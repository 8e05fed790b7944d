//! What happens when Redis is not there, dies, hangs or comes back. Each test runs its own
//! redis-server child on a free port; the shared Redis is never stopped.

mod common;

use common::PrivateRedis;
use eportal_ports::{Cache, PortError};
use eportal_redis::RedisCache;
use std::time::{Duration, Instant};

const OP_TIMEOUT: Duration = Duration::from_millis(250);
/// What a failing call may take: the operation timeout, plus room for a busy machine.
const FAIL_FAST: Duration = Duration::from_millis(1_000);

fn assert_unavailable<T: std::fmt::Debug>(what: &str, result: Result<T, PortError>) {
    match result {
        Err(PortError::Unavailable {
            engine: "redis", ..
        }) => {}
        other => panic!("{what} must fail as Unavailable from redis, got {other:?}"),
    }
}

/// Runs every cache operation once, asserting each fails as unavailable and fast. Uses its
/// own key: a write that timed out may still reach a hung server once it resumes.
async fn assert_every_call_fails_fast(cache: &RedisCache) {
    let calls: [(
        &str,
        std::pin::Pin<Box<dyn std::future::Future<Output = _> + Send + '_>>,
    ); 5] = [
        (
            "get",
            Box::pin(async { cache.get("probe").await.map(drop) }),
        ),
        (
            "put",
            Box::pin(cache.put("probe", b"v", Duration::from_secs(60))),
        ),
        ("delete", Box::pin(cache.delete(&[]))),
        (
            "hit",
            Box::pin(async { cache.hit("probe", Duration::from_secs(60)).await.map(drop) }),
        ),
        ("ping", Box::pin(cache.ping())),
    ];
    for (what, call) in calls {
        let start = Instant::now();
        let result = call.await;
        let took = start.elapsed();
        if what == "delete" {
            // Deleting no keys needs no Redis at all.
            assert!(result.is_ok(), "delete of no keys failed: {result:?}");
            continue;
        }
        assert_unavailable(what, result);
        assert!(
            took < FAIL_FAST,
            "{what} took {took:?} to fail, more than {FAIL_FAST:?}"
        );
    }
    let start = Instant::now();
    assert_unavailable("delete", cache.delete(&["probe".to_owned()]).await);
    assert!(
        start.elapsed() < FAIL_FAST,
        "delete took {:?} to fail",
        start.elapsed()
    );
}

#[tokio::test]
async fn unreachable_at_start_is_a_clear_error_without_the_password() {
    let port = common::free_port();
    let url = format!("redis://:s3cret@127.0.0.1:{port}/0");
    let start = Instant::now();
    let err = match RedisCache::connect(&url, "p", OP_TIMEOUT).await {
        Err(e) => e,
        Ok(_) => panic!("connected to a port nobody listens on"),
    };
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "took {:?}",
        start.elapsed()
    );
    let message = err.to_string();
    assert!(
        message.contains("Redis"),
        "the error must name Redis: {message}"
    );
    assert!(
        message.contains(&format!("127.0.0.1:{port}")),
        "the error must name the address: {message}"
    );
    assert!(
        !message.contains("s3cret"),
        "the error shows the password: {message}"
    );
    assert!(
        err.is_transient(),
        "an unreachable Redis is worth retrying: {err:?}"
    );
}

#[tokio::test]
async fn a_malformed_url_is_invalid_not_unavailable() {
    match RedisCache::connect("http//not a url", "p", OP_TIMEOUT).await {
        Err(PortError::Invalid(message)) => assert!(message.contains("Redis URL"), "{message}"),
        Err(e) => panic!("expected Invalid, got {e:?}"),
        Ok(_) => panic!("a malformed URL was accepted"),
    }
}

#[tokio::test]
async fn a_killed_redis_fails_fast_and_a_restarted_one_is_used_again() {
    let mut redis = PrivateRedis::start();
    let cache = RedisCache::connect(&redis.url(), "app", OP_TIMEOUT)
        .await
        .unwrap();
    cache
        .put("k", b"before", Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(
        cache.hit("limit", Duration::from_secs(60)).await.unwrap(),
        1
    );
    assert_eq!(
        cache.hit("limit", Duration::from_secs(60)).await.unwrap(),
        2
    );

    redis.kill();
    assert_every_call_fails_fast(&cache).await;
    // Still fast when asked again while the reconnect attempts fail.
    assert_every_call_fails_fast(&cache).await;

    redis.restart();
    let deadline = Instant::now() + Duration::from_secs(10);
    while let Err(e) = cache.ping().await {
        assert!(
            Instant::now() < deadline,
            "still failing 10 s after Redis came back: {e}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The new server started empty (no persistence): this really is a new connection.
    assert_eq!(cache.get("k").await.unwrap(), None);
    assert_eq!(
        cache.hit("limit", Duration::from_secs(60)).await.unwrap(),
        1
    );
    cache
        .put("k", b"after", Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(
        cache.get("k").await.unwrap().as_deref(),
        Some(&b"after"[..])
    );
}

#[tokio::test]
async fn a_hung_redis_never_hangs_the_caller() {
    let redis = PrivateRedis::start();
    let cache = RedisCache::connect(&redis.url(), "app", OP_TIMEOUT)
        .await
        .unwrap();
    cache.put("k", b"v", Duration::from_secs(60)).await.unwrap();

    redis.signal("STOP");
    assert_every_call_fails_fast(&cache).await;
    redis.signal("CONT");

    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match cache.get("k").await {
            Ok(v) => {
                assert_eq!(v.as_deref(), Some(&b"v"[..]));
                break;
            }
            Err(e) => assert!(
                Instant::now() < deadline,
                "still failing after SIGCONT: {e}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
