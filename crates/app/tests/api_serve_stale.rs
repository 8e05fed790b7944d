//! Results day with the record store gone: the portal runs on a PostgreSQL of its own that
//! the test starts (initdb + pg_ctl on a free port in a temporary directory), caches one
//! student's results, and then that PostgreSQL is stopped. The cached student must still be
//! served — marked possibly stale in the headers and on the page — and a student with nothing
//! cached must get a `503` with `Retry-After` promptly, never a hang. Once PostgreSQL is back on
//! the same port, reads are fresh again.
//!
//! The shared PostgreSQL is never touched; the queue is the shared RabbitMQ under a namespace
//! of this test's own, deleted at the end.

mod browser;
mod common;

use browser::Browser;
use common::postgres::{forget_namespace, spawn_app_on, PrivatePostgres};
use common::university::STUDENTS;
use common::{path_matric, problem, TestApp, PASSWORD};
use reqwest::header::{ETAG, RETRY_AFTER, WARNING};
use reqwest::StatusCode;
use std::time::{Duration, Instant};

async fn read(app: &TestApp, token: &str, matric: &str) -> reqwest::Response {
    let path = format!("/api/v1/students/{}/results", path_matric(matric));
    app.get(&path, Some(token)).await
}

fn is_stale(res: &reqwest::Response) -> bool {
    res.headers()
        .get("x-eportal-stale")
        .is_some_and(|v| v == "1")
}

#[tokio::test]
async fn cached_results_are_served_marked_stale_while_the_store_is_down() {
    let pg = PrivatePostgres::start();
    let (app, namespace) = spawn_app_on(&pg, |c| c.results_store_timeout_ms = 1_000).await;
    let (cached, uncached) = (STUDENTS[0], STUDENTS[1]);

    // Ada reads her results (now cached), in the API and on her page; Bola signs in and is
    // refused Ada's, so his session is known but his own results are not cached.
    let ada = app.login(cached).await;
    let res = read(&app, &ada, cached).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(!is_stale(&res), "fresh results are not marked");
    let etag = res.headers()[ETAG].clone();
    let before: serde_json::Value = res.json().await.unwrap();
    let mut page = Browser::new(&app.base);
    page.sign_in(cached, PASSWORD).await;
    let p = page.get("/results").await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    assert!(
        !p.body.contains("stale-notice"),
        "no notice while the store answers"
    );
    let bola = app.login(uncached).await;
    assert_eq!(
        read(&app, &bola, cached).await.status(),
        StatusCode::FORBIDDEN
    );

    pg.stop();

    // Bola's results were never cached: a 503 with Retry-After, within the store timeout.
    let started = Instant::now();
    let res = read(&app, &bola, uncached).await;
    let took = started.elapsed();
    assert!(res.headers().contains_key(RETRY_AFTER), "Retry-After");
    problem(res, StatusCode::SERVICE_UNAVAILABLE).await;
    assert!(
        took < Duration::from_secs(3),
        "an uncached read with the store down took {took:?}"
    );

    // Ada's are served from the cache, marked as possibly stale, with the same body.
    for _ in 0..20 {
        let started = Instant::now();
        let res = read(&app, &ada, cached).await;
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "a cached read waited"
        );
        assert_eq!(res.status(), StatusCode::OK);
        assert!(is_stale(&res), "marked stale while the store is down");
        assert_eq!(
            res.headers()[WARNING].to_str().unwrap(),
            "110 - \"Response is stale\""
        );
        assert_eq!(res.headers()[ETAG], etag);
        assert_eq!(res.json::<serde_json::Value>().await.unwrap(), before);
    }
    let p = page.get("/results").await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    assert!(
        p.body.contains("id=\"stale-notice\"") && p.body.contains("may be out of date"),
        "the page says the results may be out of date: {}",
        p.body
    );

    // PostgreSQL comes back on the same port: a background probe finds it, and reads are
    // fresh again — Ada's unmarked, Bola's loaded.
    pg.resume();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let res = read(&app, &ada, cached).await;
        assert_eq!(res.status(), StatusCode::OK);
        if !is_stale(&res) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "reads still marked stale 20 s after PostgreSQL came back"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let res = read(&app, &bola, uncached).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(!is_stale(&res));
    let p = page.get("/results").await;
    assert!(!p.body.contains("stale-notice"), "{}", p.body);

    app.running.shutdown().await;
    let _ = tokio::time::timeout(Duration::from_secs(10), forget_namespace(&namespace)).await;
    drop(pg);
}
