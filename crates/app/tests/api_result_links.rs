//! Results links with the default notifier (the outbox file): publishing a course writes one
//! link per student to `data_dir/outbox.jsonl`; a link opens its own student's results (page
//! and API) with no sign-in and nothing else; an altered, expired or revoked link is refused
//! with a page that says why.

mod common;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use common::courses::publish;
use common::university::{CSC201, STUDENTS};
use common::{json, path_matric, problem, spawn_app, TestApp, PASSWORD};
use eportal_core::MatricNo;
use eportal_ports::Notice;
use reqwest::StatusCode;
use serde_json::json;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// The messages in the outbox file once `n` have been written (waits up to 20 s: they are
/// sent after the publication was answered).
async fn outbox(app: &TestApp, n: usize) -> Vec<Notice> {
    let path = app.running.services.config.data_dir.join("outbox.jsonl");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let notices: Vec<Notice> = text
            .lines()
            .map(|l| serde_json::from_str(l).expect("each line of the outbox is a message"))
            .collect();
        if notices.len() >= n || Instant::now() > deadline {
            return notices;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The token of the link in a message's text.
fn token_in(text: &str) -> String {
    let at = text.find("/r/").expect("the message holds a link") + 3;
    text[at..]
        .split(|c: char| c.is_whitespace())
        .next()
        .unwrap()
        .to_string()
}

/// Publishes CSC 201; returns each student's token, by matric number.
async fn published_links(app: &TestApp) -> BTreeMap<String, String> {
    publish(app, CSC201.0).await;
    let notices = outbox(app, STUDENTS.len()).await;
    assert_eq!(
        notices.len(),
        STUDENTS.len(),
        "one link per student: {notices:?}"
    );
    let mut links = BTreeMap::new();
    for n in notices {
        assert!(n.subject.contains("CSC 201"), "{n:?}");
        assert_eq!(n.address, None, "no mail domain is configured: {n:?}");
        assert!(
            n.text
                .contains(&format!("http://{}/r/", app.running.services.config.listen)),
            "{n:?}"
        );
        links.insert(n.username.clone(), token_in(&n.text));
    }
    let names: Vec<&str> = links.keys().map(String::as_str).collect();
    assert_eq!(names, STUDENTS.to_vec());
    links
}

async fn page(app: &TestApp, token: &str) -> (StatusCode, String) {
    let res = app.get(&format!("/r/{token}"), None).await;
    let status = res.status();
    (status, res.text().await.unwrap())
}

async fn metric(app: &TestApp, outcome: &str) -> u64 {
    let text = app.get("/metrics", None).await.text().await.unwrap();
    let key = format!("eportal_notifications_total{{outcome=\"{outcome}\"}}");
    text.lines()
        .find(|l| l.starts_with(&key))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn a_link_opens_only_its_own_students_results_with_no_sign_in() {
    let app = spawn_app().await;
    let links = published_links(&app).await;
    assert_eq!(metric(&app, "sent").await, 3);
    let mine = &links[STUDENTS[0]];

    // The API twin: this student's results, CSC 201 among them, kept by no cache.
    let res = app.get(&format!("/api/v1/r/{mine}"), None).await;
    assert_eq!(res.headers()["cache-control"], "private, no-store");
    let (status, body) = json(res).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["matric_no"], STUDENTS[0]);
    assert_eq!(
        body["semesters"][0]["courses"][0]["code"], "CSC 201",
        "{body}"
    );

    // The page: the results page, read-only, for this student alone.
    let (status, html) = page(&app, mine).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(
        html.contains("<h1>Your results</h1>") && html.contains(STUDENTS[0]),
        "{html}"
    );
    assert!(html.contains("CSC 201"), "{html}");
    for other in &STUDENTS[1..] {
        assert!(!html.contains(other), "another student on the page: {html}");
    }
    assert!(
        !html.contains("action=\"/logout\""),
        "a link is not a sign-in: {html}"
    );

    // The link is not a bearer token: not for its own student's results, not for another's,
    // not for anything that changes a thing.
    for path in [
        format!("/api/v1/students/{}/results", path_matric(STUDENTS[1])),
        format!("/api/v1/students/{}/results", path_matric(STUDENTS[0])),
        "/api/v1/me".to_string(),
    ] {
        problem(app.get(&path, Some(mine)).await, StatusCode::UNAUTHORIZED).await;
    }
    problem(
        app.post_json(
            "/api/v1/auth/password",
            Some(mine),
            &json!({ "current_password": PASSWORD, "new_password": "a new password 1" }),
        )
        .await,
        StatusCode::UNAUTHORIZED,
    )
    .await;

    // Another student's matric number under this link's seal is no link at all.
    let (sealed, tag) = mine.split_once('.').unwrap();
    let text = String::from_utf8(B64.decode(sealed).unwrap()).unwrap();
    assert!(text.contains(STUDENTS[0]), "{text}");
    let forged = format!(
        "{}.{tag}",
        B64.encode(text.replace(STUDENTS[0], STUDENTS[1]))
    );
    let (status, html) = page(&app, &forged).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{html}");
    assert!(
        html.contains("This link does not open any results"),
        "{html}"
    );
    assert!(!html.contains(STUDENTS[1]), "{html}");
    problem(
        app.get(&format!("/api/v1/r/{forged}"), None).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    // A sign-in token is no link either.
    let bearer = app.login(STUDENTS[1]).await;
    let (status, _) = page(&app, &bearer).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_link_expires_and_stops_when_its_students_sessions_end() {
    let app = spawn_app().await;
    let links = published_links(&app).await;

    // Expired: a link sealed with the portal's own key, its time already past (the shortest
    // `links.ttl_hours` is an hour; the seal is the same).
    let services = &app.running.services;
    let m = MatricNo::parse(STUDENTS[0]).unwrap();
    let version = services
        .ports
        .store
        .session_version(m.as_str())
        .await
        .unwrap()
        .unwrap();
    let past = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        - 1;
    let expired = services.links.mint(&m, version, past);
    let (status, html) = page(&app, &expired).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{html}");
    assert!(html.contains("This results link has expired"), "{html}");
    assert!(html.contains("sign in"), "{html}");
    let fresh = services.mint_result_link(&m, version);
    assert_eq!(page(&app, &fresh).await.0, StatusCode::OK);

    // Signed out everywhere: the student's earlier link stops working.
    let own = &links[STUDENTS[1]];
    assert_eq!(page(&app, own).await.0, StatusCode::OK);
    let token = app.login(STUDENTS[1]).await;
    let res = app
        .post_json("/api/v1/auth/logout", Some(&token), &json!({}))
        .await;
    assert!(res.status().is_success(), "{}", res.text().await.unwrap());
    let (status, html) = page(&app, own).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{html}");
    assert!(html.contains("This results link no longer works"), "{html}");
    problem(
        app.get(&format!("/api/v1/r/{own}"), None).await,
        StatusCode::FORBIDDEN,
    )
    .await;

    // A password change withdraws the link too; the others' links still open.
    let own = &links[STUDENTS[2]];
    let token = app.login(STUDENTS[2]).await;
    let res = app
        .post_json(
            "/api/v1/auth/password",
            Some(&token),
            &json!({ "current_password": PASSWORD, "new_password": "a brand new password" }),
        )
        .await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "{}",
        res.text().await.unwrap()
    );
    let (status, html) = page(&app, own).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{html}");
    assert!(html.contains("no longer works"), "{html}");
    assert_eq!(page(&app, &links[STUDENTS[0]]).await.0, StatusCode::OK);
}

#[tokio::test]
async fn no_links_are_sent_when_they_are_switched_off() {
    let app = common::spawn_app_with(|c| c.links.enabled = false).await;
    publish(&app, CSC201.0).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(outbox(&app, 0).await.is_empty());
    assert_eq!(metric(&app, "sent").await, 0);
}
