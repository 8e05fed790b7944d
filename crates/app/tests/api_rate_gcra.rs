//! The per-client rate limit is GCRA: a client may spend its minute's allowance at once,
//! then is admitted at the steady rate (one request every minute ÷ the limit), and each
//! refusal is a `429` whose `Retry-After` is when the next request will be admitted. On
//! Redis the limit is one for every portal of the deployment.

mod common;

use common::university::STUDENTS;
use common::{problem, spawn_app_with, TestApp};
use reqwest::StatusCode;
use std::time::{Duration, Instant};

/// 120 a minute: a burst of 120, then one every half second.
const LIMIT: u64 = 120;
const INTERVAL: Duration = Duration::from_millis(60_000 / LIMIT);

fn retry_after(res: &reqwest::Response) -> u64 {
    res.headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("a Retry-After in seconds on {}", res.status()))
}

/// Asks for `/api/v1/me` until refused; returns how many were admitted, how long it took,
/// and the refusal.
async fn until_refused(
    app: &TestApp,
    token: Option<&str>,
    ok: StatusCode,
) -> (u64, Duration, reqwest::Response) {
    let started = Instant::now();
    for admitted in 0..(3 * LIMIT) {
        let res = app.get("/api/v1/me", token).await;
        if res.status() == StatusCode::TOO_MANY_REQUESTS {
            return (admitted, started.elapsed(), res);
        }
        assert_eq!(res.status(), ok);
    }
    panic!("{} requests were all admitted", 3 * LIMIT);
}

/// At most this many can have been earned back over `elapsed`.
fn earned(elapsed: Duration) -> u64 {
    (elapsed.as_millis() / INTERVAL.as_millis()) as u64 + 1
}

#[tokio::test]
async fn a_burst_up_to_the_limit_passes_then_requests_come_at_the_steady_rate() {
    let app = spawn_app_with(|c| c.limits.rate_limit_per_minute = LIMIT).await;
    let token = app.login(STUDENTS[0]).await;

    // The burst: the whole allowance at once, and not much more.
    let (burst, took, refusal) = until_refused(&app, Some(&token), StatusCode::OK).await;
    assert!(
        (LIMIT..=LIMIT + earned(took)).contains(&burst),
        "{burst} admitted in a burst of {took:?}, the limit being {LIMIT}"
    );
    // The next one is half a second away: Retry-After rounds it up to a second.
    assert_eq!(retry_after(&refusal), 1);
    let body = problem(refusal, StatusCode::TOO_MANY_REQUESTS).await;
    assert_eq!(body["type"], "urn:eportal:problem:rate-limited", "{body}");

    // The steady rate: asking every 25 ms for 3 s admits one request every half second.
    let window = Duration::from_secs(3);
    let started = Instant::now();
    let (mut admitted, mut refused) = (0u64, 0u64);
    while started.elapsed() < window {
        let res = app.get("/api/v1/me", Some(&token)).await;
        match res.status() {
            StatusCode::OK => admitted += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                assert_eq!(retry_after(&res), 1, "never more than one interval away");
                refused += 1;
            }
            other => panic!("unexpected {other}"),
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let expected = window.as_millis() as u64 / INTERVAL.as_millis() as u64;
    assert!(
        (expected - 1..=expected + 1).contains(&admitted),
        "{admitted} admitted over {window:?} at one per {INTERVAL:?} ({refused} refused)"
    );
    assert!(
        refused > 5 * admitted,
        "{refused} refused, {admitted} admitted"
    );

    // Another client has its own allowance.
    let other = app.login(STUDENTS[1]).await;
    assert_eq!(
        app.get("/api/v1/me", Some(&other)).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_client_that_waits_what_it_was_told_is_admitted() {
    let app = spawn_app_with(|c| c.limits.rate_limit_per_minute = 30).await;
    let token = app.login(STUDENTS[0]).await;
    let (_, _, refusal) = until_refused(&app, Some(&token), StatusCode::OK).await;
    // One every two seconds: at most two to wait.
    let wait = retry_after(&refusal);
    assert!((1..=2).contains(&wait), "Retry-After {wait}");
    tokio::time::sleep(Duration::from_secs(wait)).await;
    assert_eq!(
        app.get("/api/v1/me", Some(&token)).await.status(),
        StatusCode::OK,
        "admitted after waiting Retry-After"
    );
    assert_eq!(
        app.get("/api/v1/me", Some(&token)).await.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "and only the one request it earned"
    );
}

#[tokio::test]
async fn two_portals_on_one_redis_share_one_limit() {
    const SMALL: u64 = 10;
    let redis =
        std::env::var("EPORTAL_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    eportal_redis::RedisCache::connect(&redis, "eportal-test:probe", Duration::from_secs(2))
        .await
        .unwrap_or_else(|e| {
            panic!("Redis is not reachable at {redis} ({e}); start it with ./scripts/services")
        });
    let prefix = format!(
        "eportal-test:{}:gcra:{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let shared = |c: &mut eportal::Config| {
        c.cache_url = redis.clone();
        c.cache_prefix = prefix.clone();
        c.limits.rate_limit_per_minute = SMALL;
    };
    let a = spawn_app_with(shared).await;
    let b = spawn_app_with(shared).await;
    // Anonymous requests from this address: one client, whichever portal it reaches.
    let mut admitted = 0;
    let mut refusal = None;
    for n in 0..(2 * SMALL) {
        let portal = if n % 2 == 0 { &a } else { &b };
        let res = portal.get("/api/v1/me", None).await;
        if res.status() == StatusCode::TOO_MANY_REQUESTS {
            refusal = Some(res);
            break;
        }
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        admitted += 1;
    }
    let refusal = refusal.expect("refused once the shared allowance was spent");
    assert!(
        (SMALL..=SMALL + 1).contains(&admitted),
        "{admitted} admitted over two portals sharing a limit of {SMALL}"
    );
    let wait = retry_after(&refusal);
    assert!((1..=6).contains(&wait), "Retry-After {wait}");
    // The other portal refuses too: the allowance is spent for both.
    assert_eq!(
        a.get("/api/v1/me", None).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        b.get("/api/v1/me", None).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
}
