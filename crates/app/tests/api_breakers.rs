//! The store's circuit breaker against a real outage: a portal runs on a PostgreSQL server of
//! the test's own, which is stopped. Once the breaker has opened, a request that needs the
//! store is refused at once instead of waiting for the connection timeout (five seconds); the
//! server is started again, and after the cool-down a probe closes the breaker and requests
//! succeed. The breaker's state is read from `/metrics` and `/readyz`.
//!
//! The machine's shared PostgreSQL is never stopped: see `common::postgres`.

mod common;

use common::postgres::{forget_namespace, spawn_app_on, PrivatePostgres};
use common::university::ADMIN;
use common::{json, path_matric, TestApp};
use reqwest::StatusCode;
use std::time::{Duration, Instant};

/// A request only the store can answer (the registry's list of score sheets).
const NEEDS_STORE: &str = "/api/v1/admin/sheets";

const FAILURES_TO_OPEN: u32 = 3;
const COOL_DOWN_MS: u64 = 1000;

fn series(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

async fn metrics(app: &TestApp) -> String {
    app.get("/metrics", None)
        .await
        .text()
        .await
        .expect("metrics")
}

/// Asks for `path` with the store's breaker open: the usual `503` with `Retry-After`, in well
/// under the engine's timeout. `context` says what the engine's own failures took.
async fn assert_refused_at_once(app: &TestApp, path: &str, token: &str, context: &str) {
    let started = Instant::now();
    let res = app.get(path, Some(token)).await;
    let took = started.elapsed();
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE, "{path}");
    assert!(res.headers().contains_key("retry-after"), "{path}");
    assert!(
        took < Duration::from_millis(100),
        "with the breaker open {path} took {took:?} ({context})"
    );
}

fn results_path(matric: &str) -> String {
    format!("/api/v1/students/{}/results", path_matric(matric))
}

const STORE_STATE: &str = "eportal_breaker_state{engine=\"store\"}";
const STORE_OPENED: &str = "eportal_breaker_opened_total{engine=\"store\"}";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_store_is_refused_at_once_and_let_back_when_it_returns() {
    let pg = PrivatePostgres::start();
    let (app, namespace) = spawn_app_on(&pg, |c| {
        c.breaker.failures_to_open = FAILURES_TO_OPEN;
        c.breaker.cool_down_ms = COOL_DOWN_MS;
    })
    .await;
    let admin = app.login(ADMIN).await;
    let res = app.get(NEEDS_STORE, Some(&admin)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let m = metrics(&app).await;
    assert_eq!(series(&m, STORE_STATE), Some(0.0), "closed at first\n{m}");
    assert_eq!(series(&m, STORE_OPENED), Some(0.0), "{m}");

    pg.stop();

    // The first failures wait for the engine (a refused connection is retried until the
    // pool's timeout); they run side by side, so the breaker opens within one timeout.
    let started = Instant::now();
    let tries: Vec<_> = (0..FAILURES_TO_OPEN)
        .map(|_| app.get(NEEDS_STORE, Some(&admin)))
        .collect();
    for res in futures_util::future::join_all(tries).await {
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    }
    let waited = started.elapsed();
    let m = metrics(&app).await;
    assert_eq!(
        series(&m, STORE_STATE),
        Some(2.0),
        "open after {FAILURES_TO_OPEN} failures\n{m}"
    );
    assert!(series(&m, STORE_OPENED).unwrap_or(0.0) >= 1.0, "{m}");

    // Open: refused in well under the engine's timeout, with the usual 503 and Retry-After.
    let context = format!("the engine's failures took {waited:?}");
    assert_refused_at_once(&app, NEEDS_STORE, &admin, &context).await;
    let (status, ready) = json(app.get("/readyz", None).await).await;
    assert_eq!(ready["breakers"]["store"], "open", "{status} {ready}");
    assert_eq!(
        ready["checks"]["store"], "unavailable (circuit breaker open)",
        "{ready}"
    );

    pg.resume();

    // After the cool-down one call probes the store; its success closes the breaker.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let res = app.get(NEEDS_STORE, Some(&admin)).await;
        if res.status() == StatusCode::OK {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "requests still fail 30 s after PostgreSQL came back: {}",
            res.status()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let m = metrics(&app).await;
    assert_eq!(series(&m, STORE_STATE), Some(0.0), "closed again\n{m}");
    let (status, ready) = json(app.get("/readyz", None).await).await;
    assert_eq!(status, StatusCode::OK, "{ready}");
    assert_eq!(ready["breakers"]["store"], "closed", "{ready}");
    assert_eq!(ready["checks"]["store"], "ok", "{ready}");
    app.running.shutdown().await;
    forget_namespace(&namespace).await;
}

/// The outage of results day: PostgreSQL stopped, so the pool retries its refused
/// connections for five seconds and no call ends in an error; the results path gives up on
/// each after `results_store_timeout_ms`. Those calls, given up on, must open the breaker,
/// or every read that needs the store would wait out the timeout for the whole outage.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_given_up_on_while_the_store_hangs_open_the_breaker() {
    use common::university::STUDENTS;
    let pg = PrivatePostgres::start();
    let (app, namespace) = spawn_app_on(&pg, |c| {
        c.results_store_timeout_ms = 300;
        c.breaker.failures_to_open = FAILURES_TO_OPEN;
        c.breaker.cool_down_ms = 60_000;
        c.breaker.slow_call_ms = 200;
    })
    .await;
    let mut tokens = Vec::new();
    for s in STUDENTS {
        tokens.push((s, app.login(s).await));
    }

    pg.stop();

    // None of them has read their results yet: each read needs the store, waits the results
    // path's 300 ms, and is answered 503.
    for (s, token) in &tokens {
        let started = Instant::now();
        let res = app.get(&results_path(s), Some(token)).await;
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE, "{s}");
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{s}: {:?}",
            started.elapsed()
        );
    }
    let m = metrics(&app).await;
    assert_eq!(
        series(&m, STORE_STATE),
        Some(2.0),
        "open after {FAILURES_TO_OPEN} reads given up on\n{m}"
    );
    assert_eq!(series(&m, STORE_OPENED), Some(1.0), "{m}");

    // Open: the next read is refused without waiting for the store.
    let (s, token) = &tokens[0];
    let context = "each read before took the 300 ms store timeout";
    assert_refused_at_once(&app, &results_path(s), token, context).await;
    pg.resume();
    app.running.shutdown().await;
    forget_namespace(&namespace).await;
}
