//! Admission control: the per-client rate limit (429), load shedding beyond the in-flight
//! limit (503), the request deadline (503), and sign-ins refused when the hashing pool is
//! saturated (503) — each with Retry-After and counted in the metrics.

mod common;

use common::university::{ADMIN, STUDENTS};
use common::{json, problem, spawn_app_with, PASSWORD};
use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::json;

fn retry_after(res: &reqwest::Response) -> u64 {
    res.headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("a Retry-After header in seconds on {}", res.status()))
}

async fn metrics(app: &common::TestApp) -> String {
    app.get("/metrics", None).await.text().await.unwrap()
}

#[tokio::test]
async fn each_client_is_limited_per_minute() {
    const LIMIT: u64 = 3;
    let app = spawn_app_with(|c| c.limits.rate_limit_per_minute = LIMIT).await;
    let token = app.login(STUDENTS[0]).await;
    // The fixed window may turn over once during the loop, so allow for two windows' worth.
    let mut ok_before = 0;
    let mut refused = None;
    for _ in 0..(2 * LIMIT + 1) {
        let res = app.get("/api/v1/me", Some(&token)).await;
        if res.status() == StatusCode::TOO_MANY_REQUESTS {
            refused = Some(res);
            break;
        }
        assert_eq!(res.status(), StatusCode::OK);
        ok_before += 1;
    }
    let res = refused.expect("a 429 once the client passed its limit");
    assert!(ok_before >= LIMIT, "only {ok_before} requests were allowed");
    let wait = retry_after(&res);
    assert!((1..=60).contains(&wait), "Retry-After {wait}");
    problem(res, StatusCode::TOO_MANY_REQUESTS).await;

    // Another client has its own allowance; operator endpoints are never limited.
    let admin = app.login(ADMIN).await;
    assert_eq!(
        app.get("/api/v1/me", Some(&admin)).await.status(),
        StatusCode::OK
    );
    for _ in 0..(2 * LIMIT) {
        assert_eq!(app.get("/healthz", None).await.status(), StatusCode::OK);
    }
    assert!(
        metrics(&app)
            .await
            .contains("eportal_http_refused_total{reason=\"rate_limit\"}"),
        "the refusal is counted"
    );
}

async fn login_burst(app: &common::TestApp, n: usize) -> Vec<reqwest::Response> {
    let body = json!({ "username": STUDENTS[0], "password": PASSWORD });
    join_all((0..n).map(|_| app.post_json("/api/v1/auth/login", None, &body))).await
}

#[tokio::test]
async fn requests_beyond_the_in_flight_limit_are_shed() {
    let app = spawn_app_with(|c| c.limits.max_in_flight = 1).await;
    let answers = login_burst(&app, 8).await;
    let mut ok = 0;
    let mut shed = 0;
    for res in answers {
        match res.status() {
            StatusCode::OK => ok += 1,
            StatusCode::SERVICE_UNAVAILABLE => {
                assert!(retry_after(&res) >= 1);
                let body = problem(res, StatusCode::SERVICE_UNAVAILABLE).await;
                assert_eq!(body["type"], "urn:eportal:problem:overloaded");
                shed += 1;
            }
            other => panic!("unexpected {other}: {}", res.text().await.unwrap()),
        }
    }
    assert!(ok >= 1 && shed >= 1, "{ok} signed in, {shed} shed");
    assert!(metrics(&app)
        .await
        .contains("eportal_http_refused_total{reason=\"overload\"}"));
}

#[tokio::test]
async fn sign_ins_beyond_the_hashing_pool_are_told_to_come_back() {
    let app = spawn_app_with(|c| {
        c.auth.hash_workers = 1;
        c.auth.max_waiting_logins = 1;
    })
    .await;
    let answers = login_burst(&app, 8).await;
    let mut ok = 0;
    let mut overloaded = 0;
    for res in answers {
        if res.status() == StatusCode::SERVICE_UNAVAILABLE {
            assert!(retry_after(&res) >= 1);
            let body = problem(res, StatusCode::SERVICE_UNAVAILABLE).await;
            assert!(
                body["detail"].as_str().unwrap().contains("signing in"),
                "{body}"
            );
            overloaded += 1;
        } else {
            let (status, body) = json(res).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            ok += 1;
        }
    }
    assert!(
        ok >= 1 && overloaded >= 1,
        "{ok} signed in, {overloaded} told to come back"
    );
    assert!(metrics(&app)
        .await
        .contains("eportal_logins_total{outcome=\"overloaded\"}"));
}

#[tokio::test]
async fn requests_past_the_deadline_are_answered_503() {
    // One hashing slot and a 100 ms deadline: sign-ins queued behind many others run out of
    // time while they wait for the slot.
    let app = spawn_app_with(|c| {
        c.limits.request_timeout_ms = 100;
        // A results read must give up on the store before the deadline does.
        c.results_store_timeout_ms = 50;
        c.auth.hash_workers = 1;
        c.auth.max_waiting_logins = 1000;
        // The waiting room would turn most away before they wait: let them wait instead.
        c.auth.hash_queue_ms = 60_000;
    })
    .await;
    let answers = login_burst(&app, 40).await;
    let mut timed_out = 0;
    for res in answers {
        if res.status() == StatusCode::SERVICE_UNAVAILABLE {
            assert!(retry_after(&res) >= 1);
            let body = problem(res, StatusCode::SERVICE_UNAVAILABLE).await;
            assert_eq!(body["type"], "urn:eportal:problem:timeout", "{body}");
            timed_out += 1;
        } else {
            assert_eq!(res.status(), StatusCode::OK);
        }
    }
    assert!(
        timed_out >= 1,
        "40 sign-ins through one hashing slot all finished within 100 ms"
    );
    assert!(metrics(&app)
        .await
        .contains("eportal_http_refused_total{reason=\"timeout\"}"));
}
