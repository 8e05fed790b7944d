//! The per-client rate limit covers the pages as it covers the API: a flood of page requests
//! from one client is refused with `429`, shown as an HTML error page with `Retry-After`.
//! A signed-in client is their account (so other people behind the same address keep their
//! own allowance), and one person's pages and API calls share one allowance; anyone else is
//! their address, sign-in form included. The stylesheet and the icon are not counted.

mod browser;
mod common;

use browser::{hidden, Browser, Page};
use common::university::STUDENTS;
use common::{spawn_app_with, TestApp, PASSWORD};
use reqwest::StatusCode;
use std::time::Duration;

const LIMIT: u64 = 6;

/// The limiter counts in fixed windows that start on the minute: start each test early in
/// one, so every count it makes falls in the same window.
async fn fresh_window() {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    let into = now.as_secs() % 60;
    if into >= 45 {
        tokio::time::sleep(
            Duration::from_secs(60 - into) - Duration::from_millis(now.subsec_millis() as u64)
                + Duration::from_millis(200),
        )
        .await;
    }
}

async fn app() -> TestApp {
    let app = spawn_app_with(|c| c.limits.rate_limit_per_minute = LIMIT).await;
    fresh_window().await;
    app
}

/// A `429` error page: HTML, with the security headers, saying what happened and when to
/// come back.
fn assert_rate_limited(page: &Page, what: &str) {
    assert_eq!(
        page.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{what}: {}",
        page.body
    );
    assert!(
        page.header("content-type").starts_with("text/html"),
        "{what}"
    );
    assert!(page
        .header("content-security-policy")
        .contains("default-src 'self'"));
    let wait: u64 = page.header("retry-after").parse().expect("seconds");
    assert!((1..=60).contains(&wait), "{what}: Retry-After {wait}");
    assert!(
        page.body.contains("Too many requests"),
        "{what}: {}",
        page.body
    );
    assert!(
        page.body
            .contains(&format!("more than {LIMIT} requests in a minute")),
        "{what}: {}",
        page.body
    );
    assert!(
        !page.body.contains("\"type\""),
        "no problem body: {}",
        page.body
    );
}

/// Asks for `path` until it is refused; returns how many were answered before, and the
/// refusal. Fails if more than `LIMIT` get through.
async fn flood(b: &mut Browser, path: &str) -> (u64, Page) {
    for answered in 0..=LIMIT {
        let page = b.get(path).await;
        if page.status == StatusCode::TOO_MANY_REQUESTS {
            return (answered, page);
        }
        assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.body);
    }
    panic!("more than {LIMIT} requests in a minute were answered");
}

#[tokio::test]
async fn a_flood_of_a_signed_in_persons_pages_is_refused_with_an_error_page() {
    let app = app().await;
    let mut ada = Browser::new(&app.base);
    let mut bola = Browser::new(&app.base);
    // Two sign-ins from this address: four of its requests.
    ada.sign_in(STUDENTS[0], PASSWORD).await;
    bola.sign_in(STUDENTS[1], PASSWORD).await;

    let (answered, refused) = flood(&mut ada, "/results").await;
    assert_eq!(
        answered, LIMIT,
        "the account's whole allowance, then a refusal"
    );
    assert_rate_limited(&refused, "Ada's results");

    // Bola shares the address but not the allowance.
    let theirs = bola.get("/results").await;
    assert_eq!(theirs.status, StatusCode::OK, "{}", theirs.body);

    // Ada's API calls draw on the same allowance as her pages.
    let token = app.login(STUDENTS[0]).await;
    let res = app.get("/api/v1/me", Some(&token)).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);

    let metrics = app.get("/metrics", None).await.text().await.unwrap();
    assert!(
        metrics.contains("eportal_http_refused_total{reason=\"rate_limit\"}"),
        "the refusals are counted"
    );
}

#[tokio::test]
async fn an_api_client_and_its_pages_share_one_allowance() {
    let app = app().await;
    let mut ada = Browser::new(&app.base);
    ada.sign_in(STUDENTS[0], PASSWORD).await;
    let token = app.login(STUDENTS[0]).await;
    for _ in 0..LIMIT {
        let res = app.get("/api/v1/me", Some(&token)).await;
        assert_eq!(res.status(), StatusCode::OK);
    }
    assert_rate_limited(&ada.get("/account").await, "the account page after the API");
}

#[tokio::test]
async fn a_flood_of_sign_ins_from_one_address_is_refused_with_an_error_page() {
    let app = app().await;
    // One sign-in form, posted again and again (each time with the right password, so the
    // failed-sign-in throttle has nothing to count), from a browser holding only the form's
    // cookie, as a script would.
    let mut form = Browser::new(&app.base);
    let page = form.get("/login").await;
    let csrf = hidden(&page.body, "csrf").expect("the form's token");
    let nonce = form
        .cookies
        .get("eportal_login")
        .expect("the form's cookie")
        .clone();
    let mut answered = 0;
    let refused = loop {
        let mut b = Browser::new(&app.base);
        b.cookies.insert("eportal_login".into(), nonce.clone());
        let page = b
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
        if page.status == StatusCode::TOO_MANY_REQUESTS {
            break page;
        }
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
        answered += 1;
        assert!(
            answered <= LIMIT,
            "more than {LIMIT} sign-ins in a minute were answered"
        );
    };
    // The form's GET was one of the address's requests.
    assert_eq!(answered, LIMIT - 1);
    assert_rate_limited(&refused, "a sign-in");

    // Every page from that address is refused now, the sign-in page included…
    let mut other = Browser::new(&app.base);
    assert_rate_limited(&other.get("/login").await, "the sign-in page");
    // …but not the stylesheet and the icon, nor the operator's endpoints (outside admission
    // control).
    assert_eq!(other.get("/favicon.ico").await.status, StatusCode::OK);
    assert_eq!(app.get("/healthz", None).await.status(), StatusCode::OK);
}
