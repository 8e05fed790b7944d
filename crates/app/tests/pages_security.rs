//! The pages' defences over HTTP: CSRF tokens on every form (refused without one, with
//! another session's, and on the sign-in form without its browser's nonce), the security
//! headers on pages, assets and error pages, the stylesheet's caching, and error pages in
//! HTML for browsers while the API keeps its problem+json answers.

mod browser;
mod common;

use browser::{Browser, Page};
use common::university::{LECTURER, STUDENTS};
use common::{problem, spawn_app, PASSWORD};
use reqwest::StatusCode;

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

fn assert_secured(page: &Page, what: &str) {
    assert_eq!(page.header("content-security-policy"), CSP, "{what}");
    assert_eq!(page.header("x-content-type-options"), "nosniff", "{what}");
    assert_eq!(page.header("x-frame-options"), "DENY", "{what}");
    assert_eq!(page.header("referrer-policy"), "same-origin", "{what}");
}

fn assert_refused(page: &Page, what: &str) {
    assert_eq!(page.status, StatusCode::FORBIDDEN, "{what}: {}", page.body);
    assert!(
        page.header("content-type").starts_with("text/html"),
        "{what}"
    );
    assert!(
        page.body.contains("This form has expired"),
        "{what}: {}",
        page.body
    );
}

#[tokio::test]
async fn forms_without_their_sessions_token_are_refused() {
    let app = spawn_app().await;
    let mut ada = Browser::new(&app.base);
    ada.sign_in(STUDENTS[0], PASSWORD).await;
    let mut bola = Browser::new(&app.base);
    bola.sign_in(STUDENTS[1], PASSWORD).await;
    let ada_csrf = ada.get("/account/password").await.csrf();
    let bola_csrf = bola.get("/account/password").await.csrf();
    assert_ne!(ada_csrf, bola_csrf);

    let change = |csrf: Option<&str>| {
        let mut f = vec![
            ("current_password", PASSWORD.to_string()),
            ("new_password", "a brand new password".to_string()),
            ("repeat_password", "a brand new password".to_string()),
        ];
        if let Some(c) = csrf {
            f.push(("csrf", c.to_string()));
        }
        f
    };
    for (what, fields) in [
        ("no token", change(None)),
        ("an empty token", change(Some(""))),
        ("another session's token", change(Some(&bola_csrf))),
    ] {
        let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let res = ada.post("/account/password", &pairs).await;
        assert_refused(&res, what);
        assert_secured(&res, what);
    }
    // Nothing was changed: the old password still signs in.
    app.login(STUDENTS[0]).await;

    // Sign-out without the token is refused too, and the session goes on.
    assert_refused(&ada.post("/logout", &[]).await, "sign-out without a token");
    assert_refused(
        &ada.post("/logout", &[("csrf", &bola_csrf)]).await,
        "sign-out with another session's token",
    );
    assert_eq!(ada.get("/results").await.status, StatusCode::OK);

    // The sign-in form is bound to the browser that fetched it.
    let mut stranger = Browser::new(&app.base);
    let form = stranger.get("/login").await;
    let mut other = Browser::new(&app.base);
    let fields = [
        ("username", LECTURER),
        ("password", PASSWORD),
        ("csrf", &form.csrf()),
    ];
    let res = other.post("/login", &fields).await;
    assert_refused(&res, "a sign-in form fetched by another browser");
    assert!(other.session().is_none());
    let res = stranger
        .post("/login", &[("username", LECTURER), ("password", PASSWORD)])
        .await;
    assert_refused(&res, "a sign-in form without its token");
}

#[tokio::test]
async fn pages_and_assets_carry_the_security_headers_and_no_inline_code() {
    let app = spawn_app().await;
    let mut b = Browser::new(&app.base);
    let login = b.get("/login").await;
    assert_secured(&login, "the sign-in page");
    assert_eq!(login.header("cache-control"), "no-store");
    b.sign_in(STUDENTS[0], PASSWORD).await;
    let results = b.get("/results").await;
    assert_secured(&results, "the results page");
    for page in [&login, &results] {
        assert!(!page.body.contains(" onclick="), "{}", page.body);
        assert!(!page.body.contains("<script"), "{}", page.body);
        assert!(!page.body.contains("style="), "{}", page.body);
        assert!(!page.body.contains("<style"), "{}", page.body);
        assert!(page.body.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"));
        assert!(page
            .body
            .contains(r#"<meta name="viewport" content="width=device-width, initial-scale=1">"#));
        assert!(page.body.contains(r##"<a class="skip" href="#main">"##));
    }

    // The stylesheet: linked by its content hash, cached for a year, revalidated by ETag.
    let at = results
        .body
        .find("href=\"/assets/site.")
        .expect("a stylesheet link");
    let href = &results.body[at + 6..];
    let href = &href[..href.find('"').unwrap()];
    let css = b.get(href).await;
    assert_eq!(css.status, StatusCode::OK);
    assert_secured(&css, "the stylesheet");
    assert_eq!(css.header("content-type"), "text/css; charset=utf-8");
    assert_eq!(
        css.header("cache-control"),
        "public, max-age=31536000, immutable"
    );
    assert!(css.body.contains("@media print"), "a print stylesheet");
    let etag = css.header("etag").to_string();
    let hash = href
        .trim_start_matches("/assets/site.")
        .trim_end_matches(".css");
    assert_eq!(etag, format!("\"{hash}\""));
    let again = reqwest::Client::new()
        .get(format!("{}{href}", app.base))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(
        b.get("/assets/site.0000000000000000.css").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn browsers_get_error_pages_and_the_api_keeps_problem_bodies() {
    let app = spawn_app().await;
    let mut b = Browser::new(&app.base);
    let missing = b.get("/no/such/page").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.header("content-type").starts_with("text/html"));
    assert!(
        missing.body.contains("<h1>Page not found</h1>"),
        "{}",
        missing.body
    );
    assert_secured(&missing, "the 404 page");

    problem(
        app.get("/api/v1/no-such-thing", None).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    // Signed out, the API answers 401 as before, while a page sends the browser to sign in.
    problem(app.get("/api/v1/me", None).await, StatusCode::UNAUTHORIZED).await;
    assert_eq!(b.get("/account").await.status, StatusCode::SEE_OTHER);

    // A 403 page: staff have no results of their own to show.
    b.sign_in(LECTURER, PASSWORD).await;
    let refused = b.get("/results").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(
        refused.body.contains("you are not signed in as a student"),
        "{}",
        refused.body
    );
    assert!(refused.header("content-type").starts_with("text/html"));
}

#[tokio::test]
async fn a_page_past_its_deadline_gets_a_busy_page_with_when_to_retry() {
    // One password hash at a time and a 100 ms deadline: of twenty sign-ins sent at once,
    // the later ones wait behind the others' hashes past the deadline.
    let app = common::spawn_app_with(|c| {
        c.auth.hash_workers = 1;
        // Not the waiting room (it would answer most at once): they wait, past the deadline.
        c.auth.hash_queue_ms = 60_000;
        c.auth.max_waiting_logins = 1000;
        c.limits.request_timeout_ms = 100;
        // A results read must give up on the store before the deadline does.
        c.results_store_timeout_ms = 50;
    })
    .await;
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let mut b = Browser::new(&app.base);
        let csrf = b.get("/login").await.csrf();
        tasks.push(tokio::spawn(async move {
            b.post(
                "/login",
                &[
                    ("username", STUDENTS[0]),
                    ("password", PASSWORD),
                    ("csrf", &csrf),
                ],
            )
            .await
        }));
    }
    let mut busy = None;
    for t in tasks {
        let page = t.await.unwrap();
        if page.status == StatusCode::SERVICE_UNAVAILABLE {
            busy = Some(page);
        }
    }
    let page = busy.expect("some sign-ins passed the deadline");
    assert!(page.header("content-type").starts_with("text/html"));
    assert_secured(&page, "the busy page");
    assert_eq!(page.header("retry-after"), "2");
    assert!(
        page.body.contains("<h1>The portal is busy</h1>"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("took longer than 100 ms"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("Please try again in 2 seconds."),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn two_sign_in_forms_open_in_one_browser_both_work() {
    let app = spawn_app().await;
    let mut b = Browser::new(&app.base);
    let first_tab = b.get("/login").await.csrf();
    let second_tab = b.get("/login").await.csrf();
    assert_eq!(first_tab, second_tab, "one browser, one sign-in binding");
    let res = b
        .post(
            "/login",
            &[
                ("username", STUDENTS[0]),
                ("password", PASSWORD),
                ("csrf", &first_tab),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    // A planted nonce of the wrong shape is replaced, not adopted.
    let mut planted = Browser::new(&app.base);
    planted.cookies.insert("eportal_login".into(), "x".into());
    planted.get("/login").await;
    assert_ne!(planted.cookies["eportal_login"], "x");
}
