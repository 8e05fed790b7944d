//! The sign-in waiting room: with the hashing pool saturated (one worker, many sign-ins at
//! once), the sign-ins it cannot hash soon are answered at once with `503`, `Retry-After`
//! and a problem body saying when to come back; every sign-in is answered (in, or told
//! when); those told come back when told and get in; nothing is left waiting after the
//! storm. On the pages the refusal is the form again, username kept, with a waiting notice
//! and the portal's own script that sends it again by itself.

mod browser;
mod common;

use browser::Browser;
use common::university::STUDENTS;
use common::{problem, spawn_app_with, TestApp, PASSWORD};
use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::json;
use std::time::{Duration, Instant};

/// The waiting room's bound in these tests.
const QUEUE_MS: u64 = 500;

async fn storm_app() -> TestApp {
    spawn_app_with(|c| {
        c.auth.hash_workers = 1;
        c.auth.hash_queue_ms = QUEUE_MS;
        // Only the waiting room is under test: one address sends everything.
        c.limits.rate_limit_per_minute = 0;
    })
    .await
}

fn retry_after(res: &reqwest::Response) -> u64 {
    res.headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("a Retry-After in seconds on {}", res.status()))
}

/// One sign-in: `Ok(())` if in, `Err(wait)` if told to come back in `wait` seconds, with how
/// long the answer took.
async fn sign_in(app: &TestApp, who: &str) -> (Result<(), u64>, Duration) {
    let started = Instant::now();
    let body = json!({ "username": who, "password": PASSWORD });
    let res = app.post_json("/api/v1/auth/login", None, &body).await;
    let took = started.elapsed();
    match res.status() {
        StatusCode::OK => (Ok(()), took),
        StatusCode::SERVICE_UNAVAILABLE => {
            let wait = retry_after(&res);
            assert!((1..=60).contains(&wait), "Retry-After {wait}");
            let body = problem(res, StatusCode::SERVICE_UNAVAILABLE).await;
            assert_eq!(body["type"], "urn:eportal:problem:overloaded", "{body}");
            let detail = body["detail"].as_str().unwrap();
            assert!(
                detail.contains("signing in") && detail.contains("try again in"),
                "the problem says when to come back: {body}"
            );
            (Err(wait), took)
        }
        other => panic!("a sign-in answered {other}: {}", res.text().await.unwrap()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saturated_hash_pool_tells_sign_ins_when_to_come_back_at_once() {
    const STORM: usize = 80;
    let app = storm_app().await;
    // What answering this many requests at once costs on this machine, whatever they ask
    // (it also opens the connections the storm then uses).
    let started = Instant::now();
    join_all((0..STORM).map(|_| app.get("/healthz", None))).await;
    let baseline = started.elapsed();
    let answers = join_all((0..STORM).map(|i| sign_in(&app, STUDENTS[i % STUDENTS.len()]))).await;

    let admitted = answers.iter().filter(|(r, _)| r.is_ok()).count();
    let mut refused: Vec<(u64, Duration)> = answers
        .iter()
        .filter_map(|(r, took)| r.err().map(|w| (w, *took)))
        .collect();
    assert_eq!(admitted + refused.len(), STORM, "every sign-in is answered");
    assert!(admitted >= 1, "someone got in");
    assert!(
        refused.len() >= STORM / 2,
        "one hashing worker cannot take {STORM} sign-ins within {QUEUE_MS} ms, yet only {} were refused",
        refused.len()
    );
    // Refusals do not wait for a slot (through one worker, the last of the storm would wait
    // seconds): they take about what any request does when this many come at once, and none
    // takes longer than that and the waiting room's bound.
    refused.sort_by_key(|(_, took)| *took);
    let median = refused[refused.len() / 2].1;
    let slowest = refused.last().unwrap().1;
    assert!(
        median < 2 * baseline + Duration::from_millis(QUEUE_MS),
        "half of the refusals took over {median:?}, where {STORM} health checks at once took {baseline:?}"
    );
    assert!(
        slowest < 2 * baseline + Duration::from_millis(QUEUE_MS + 500),
        "a refusal took {slowest:?}, where {STORM} health checks at once took {baseline:?}"
    );
    // Appointments: the refused are not all sent back at the same second.
    let latest = refused.iter().map(|(w, _)| *w).max().unwrap();
    assert!(
        latest >= 2,
        "{} refused sign-ins were all told to come back within a second",
        refused.len()
    );

    // Those told to come back do so when told, and get in (told again if need be).
    let comebacks = refused.iter().enumerate().map(|(i, (wait, _))| {
        let app = &app;
        let mut wait = *wait;
        async move {
            for _ in 0..6 {
                tokio::time::sleep(Duration::from_secs(wait)).await;
                match sign_in(app, STUDENTS[i % STUDENTS.len()]).await.0 {
                    Ok(()) => return true,
                    Err(again) => wait = again,
                }
            }
            false
        }
    });
    let back = join_all(comebacks).await;
    assert!(
        back.iter().all(|ok| *ok),
        "{} of {} refused sign-ins never got in by coming back when told",
        back.iter().filter(|ok| !**ok).count(),
        back.len()
    );

    // After the storm: nothing waits, and a sign-in goes straight in.
    assert_eq!(app.running.services.auth.hash_pool().waiting(), 0);
    let (after, took) = sign_in(&app, STUDENTS[0]).await;
    assert_eq!(after, Ok(()), "a sign-in after the storm");
    assert!(took < Duration::from_secs(2), "took {took:?}");
    let metrics = app.get("/metrics", None).await.text().await.unwrap();
    assert!(metrics.contains("eportal_logins_total{outcome=\"overloaded\"}"));
}

#[tokio::test]
async fn the_sign_in_page_shows_a_waiting_notice_that_sends_the_form_again_by_itself() {
    let app = storm_app().await;
    let mut tasks = Vec::new();
    for i in 0..40 {
        let mut b = Browser::new(&app.base);
        let csrf = b.get("/login").await.csrf();
        tasks.push(tokio::spawn(async move {
            let page = b
                .post(
                    "/login",
                    &[
                        ("username", STUDENTS[i % STUDENTS.len()]),
                        ("password", PASSWORD),
                        ("next", "/"),
                        ("csrf", &csrf),
                    ],
                )
                .await;
            (b, page)
        }));
    }
    let mut held = None;
    for t in tasks {
        let (b, page) = t.await.unwrap();
        match page.status {
            StatusCode::SEE_OTHER => {}
            StatusCode::SERVICE_UNAVAILABLE => held = Some((b, page)),
            other => panic!("a sign-in page answered {other}: {}", page.body),
        }
    }
    let (mut b, page) = held.expect("some of 40 sign-ins through one worker were held back");
    assert!(page.header("content-type").starts_with("text/html"));
    let wait: u64 = page.header("retry-after").parse().expect("seconds");
    assert!(page.body.contains("Many people are signing in right now"));
    assert!(
        page.body
            .contains(&format!("id=\"wait\" data-retry-after=\"{wait}\"")),
        "the notice carries the wait: {}",
        page.body
    );
    // The form again: the username kept, the password never sent back.
    assert!(page.body.contains("value=\"SCI/2021/000"), "{}", page.body);
    assert!(!page.body.contains(PASSWORD));
    // The script is the portal's own file (no inline script, which the policy forbids).
    let csp = page.header("content-security-policy");
    assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"));
    let src = page
        .body
        .split("<script src=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("a script element with a src")
        .to_string();
    assert!(
        src.starts_with("/assets/wait.") && src.ends_with(".js"),
        "{src}"
    );
    assert!(!page.body.contains("<script>"), "no inline script");
    let script = b.get(&src).await;
    assert_eq!(script.status, StatusCode::OK);
    assert!(script.header("content-type").starts_with("text/javascript"));
    assert!(script.header("cache-control").contains("immutable"));
    assert!(script.body.contains("data-retry-after") && script.body.contains("requestSubmit"));

    // After the wait, the re-shown form (its own fresh token) signs in.
    tokio::time::sleep(Duration::from_secs(wait)).await;
    let csrf = page.csrf();
    let mut signed = None;
    for _ in 0..5 {
        let again = b
            .post(
                "/login",
                &[
                    ("username", STUDENTS[0]),
                    ("password", PASSWORD),
                    ("next", "/"),
                    ("csrf", &csrf),
                ],
            )
            .await;
        if again.status == StatusCode::SEE_OTHER {
            signed = Some(again);
            break;
        }
        assert_eq!(
            again.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{}",
            again.body
        );
        let wait: u64 = again.header("retry-after").parse().unwrap();
        tokio::time::sleep(Duration::from_secs(wait)).await;
    }
    assert!(
        signed.is_some(),
        "the held-back browser got in after waiting"
    );
    assert!(b.session().is_some());
}
