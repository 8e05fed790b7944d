//! Failed sign-ins are throttled per account and per address: a locked account is refused
//! with `429`, a clear message and `Retry-After`, even with the right password; other
//! accounts from the same address are not affected; an unknown username gets exactly the
//! same answers; the owner gets back in once the lock passes; and portals sharing a Redis
//! cache count together.
//!
//! The counting window is an hour (fixed windows: three quick attempts all but never straddle
//! its edge) and the lock two seconds, so the tests can wait it out.

mod common;

use common::university::{LECTURER, OTHER_LECTURER, STUDENTS};
use common::{json, problem, spawn_app_with, TestApp, PASSWORD};
use eportal::Config;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;

const LOCK_SECS: u64 = 2;

fn per_account(c: &mut Config) {
    c.auth.max_failed_sign_ins = 3;
    c.auth.max_failed_sign_ins_per_address = 1000;
    c.auth.sign_in_window_secs = 3600;
    c.auth.sign_in_lock_secs = LOCK_SECS;
}

async fn attempt(app: &TestApp, username: &str, password: &str) -> reqwest::Response {
    app.post_json(
        "/api/v1/auth/login",
        None,
        &json!({ "username": username, "password": password }),
    )
    .await
}

/// The status, Retry-After and detail of a sign-in attempt.
async fn outcome(
    app: &TestApp,
    username: &str,
    password: &str,
) -> (StatusCode, Option<u64>, Value) {
    let res = attempt(app, username, password).await;
    let retry = res
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let (status, body) = json(res).await;
    (status, retry, body["detail"].clone())
}

/// Three wrong passwords: two plain refusals, then the lock.
async fn fail_three_times(app: &TestApp, username: &str) -> Vec<(StatusCode, Option<u64>, Value)> {
    let mut seen = Vec::new();
    for _ in 0..3 {
        seen.push(outcome(app, username, "not the password").await);
    }
    seen
}

fn expected_lockout(whom: &str) -> Vec<(StatusCode, Option<u64>, Value)> {
    let wrong = json!("wrong username or password");
    vec![
        (StatusCode::UNAUTHORIZED, None, wrong.clone()),
        (StatusCode::UNAUTHORIZED, None, wrong),
        (
            StatusCode::TOO_MANY_REQUESTS,
            Some(LOCK_SECS),
            json!(format!(
                "too many failed sign-ins {whom}; try again in {LOCK_SECS} seconds"
            )),
        ),
    ]
}

#[tokio::test]
async fn an_account_is_locked_not_the_address_and_the_owner_gets_back_in() {
    let app = spawn_app_with(per_account).await;
    assert_eq!(
        fail_three_times(&app, LECTURER).await,
        expected_lockout("for this account")
    );

    // Locked: even the right password is refused, with a problem body and Retry-After.
    let res = attempt(&app, LECTURER, PASSWORD).await;
    assert!(res.headers().contains_key("retry-after"));
    let body = problem(res, StatusCode::TOO_MANY_REQUESTS).await;
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .starts_with("too many failed sign-ins for this account; try again in "),
        "{body}"
    );
    // The same username in another spelling is the same account.
    let (status, _, _) = outcome(&app, &LECTURER.to_lowercase(), PASSWORD).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);

    // The address is not locked: other people behind it sign in.
    app.login(OTHER_LECTURER).await;
    app.login(STUDENTS[0]).await;

    // Once the lock passes, the owner gets back in.
    tokio::time::sleep(Duration::from_millis(LOCK_SECS * 1000 + 300)).await;
    let (status, _, detail) = outcome(&app, LECTURER, PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    // Signing in started the count again: one later typo is just a wrong password, and it
    // takes the full number of failures to lock the account again.
    assert_eq!(
        fail_three_times(&app, LECTURER).await,
        expected_lockout("for this account")
    );
}

#[tokio::test]
async fn an_unknown_username_gets_exactly_the_same_answers() {
    let app = spawn_app_with(per_account).await;
    let known = fail_three_times(&app, LECTURER).await;
    let unknown = fail_three_times(&app, "NOSUCH01").await;
    assert_eq!(known, expected_lockout("for this account"));
    assert_eq!(
        unknown, known,
        "an attacker cannot tell which accounts exist from the throttling"
    );
    let (status, _, _) = outcome(&app, "NOSUCH01", PASSWORD).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn many_failures_from_one_address_lock_the_address() {
    let app = spawn_app_with(|c| {
        per_account(c);
        c.auth.max_failed_sign_ins = 100;
        c.auth.max_failed_sign_ins_per_address = 3;
    })
    .await;
    // One wrong guess each for three accounts: no account is near its limit, the address is.
    let mut seen = Vec::new();
    for user in [LECTURER, OTHER_LECTURER, STUDENTS[1]] {
        seen.push(outcome(&app, user, "not the password").await);
    }
    assert_eq!(seen, expected_lockout("from your network address"));
    let (status, retry, detail) = outcome(&app, STUDENTS[0], PASSWORD).await;
    assert_eq!(
        (status, retry.is_some()),
        (StatusCode::TOO_MANY_REQUESTS, true),
        "{detail}"
    );
    tokio::time::sleep(Duration::from_millis(LOCK_SECS * 1000 + 300)).await;
    app.login(STUDENTS[0]).await;
}

/// Two portals over one Redis (each with its own store, seeded alike): failures counted on
/// either lock the account on both.
#[tokio::test]
async fn portals_sharing_redis_count_failures_together() {
    let prefix = format!(
        "eportal-test-throttle-{}-{}:",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let shared = |c: &mut Config| {
        per_account(c);
        c.cache_url = "redis://127.0.0.1:6379".into();
        c.cache_prefix = prefix.clone();
    };
    let a = spawn_app_with(shared).await;
    let b = spawn_app_with(shared).await;
    let (s1, _, _) = outcome(&a, LECTURER, "not the password").await;
    let (s2, _, _) = outcome(&b, LECTURER, "not the password").await;
    assert_eq!(
        (s1, s2),
        (StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED)
    );
    let (s3, retry, detail) = outcome(&a, LECTURER, "not the password").await;
    assert_eq!(
        (s3, retry),
        (StatusCode::TOO_MANY_REQUESTS, Some(LOCK_SECS)),
        "the third failure across both portals locks: {detail}"
    );
    let (status, _, detail) = outcome(&b, LECTURER, PASSWORD).await;
    assert_eq!(
        status,
        StatusCode::TOO_MANY_REQUESTS,
        "the other portal sees the lock: {detail}"
    );
}
