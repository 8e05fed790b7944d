//! Sign-in, bearer tokens, the request id, and the problem body of bad requests.

mod common;

use common::university::{ADMIN, LECTURER, STUDENTS};
use common::{json, problem, spawn_app, PASSWORD};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn login_gives_a_token_that_me_reads_back() {
    let app = spawn_app().await;
    // Students sign in with their matric number, in any case.
    let res = app
        .post_json(
            "/api/v1/auth/login",
            None,
            &json!({ "username": STUDENTS[0].to_lowercase(), "password": PASSWORD }),
        )
        .await;
    let (status, body) = json(res).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["username"], STUDENTS[0]);
    assert_eq!(body["display_name"], "Ada Obi");
    assert_eq!(body["roles"], json!(["student"]));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let expires = body["expires_at"].as_u64().expect("expires_at is a number");
    assert!(
        expires > now,
        "token expires in the future: {expires} vs {now}"
    );
    let token = body["token"].as_str().expect("token");

    let (status, me) = json(app.get("/api/v1/me", Some(token)).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        me,
        json!({ "username": STUDENTS[0], "display_name": "Ada Obi", "roles": ["student"], "password_change_required": false })
    );

    // Staff sign in with their staff id, the registry administrator as admin.
    for (user, role) in [(LECTURER, "lecturer"), (ADMIN, "admin")] {
        let t = app.login(user).await;
        let (_, me) = json(app.get("/api/v1/me", Some(&t)).await).await;
        assert_eq!(me["roles"], json!([role]), "{user}");
    }
}

#[tokio::test]
async fn wrong_password_and_unknown_user_are_indistinguishable() {
    let app = spawn_app().await;
    let wrong = app
        .post_json(
            "/api/v1/auth/login",
            None,
            &json!({ "username": LECTURER, "password": "not the password" }),
        )
        .await;
    assert!(wrong.headers().contains_key("www-authenticate"));
    let wrong = problem(wrong, StatusCode::UNAUTHORIZED).await;
    let unknown = app
        .post_json(
            "/api/v1/auth/login",
            None,
            &json!({ "username": "NOBODY", "password": "not the password" }),
        )
        .await;
    let unknown = problem(unknown, StatusCode::UNAUTHORIZED).await;
    assert_eq!(wrong, unknown, "the two 401 bodies must be identical");
}

#[tokio::test]
async fn api_routes_need_a_valid_bearer_token() {
    let app = spawn_app().await;
    let token = app.login(STUDENTS[0]).await;
    let forged = {
        // A token whose signature does not match its claims.
        let (body, sig) = token.split_once('.').expect("body.signature");
        let mut s: Vec<u8> = sig.bytes().collect();
        s[0] = if s[0] == b'A' { b'B' } else { b'A' };
        format!("{body}.{}", String::from_utf8(s).unwrap())
    };
    let cases: [(&str, Option<&str>); 4] = [
        ("/api/v1/me", None),
        ("/api/v1/me", Some("not-a-token")),
        ("/api/v1/me", Some(&forged)),
        ("/api/v1/students/SCI%2F2021%2F0001/results", None),
    ];
    for (path, t) in cases {
        let res = app.get(path, t).await;
        let challenge = res
            .headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        assert!(
            challenge.starts_with("Bearer"),
            "{path}: WWW-Authenticate was '{challenge}'"
        );
        problem(res, StatusCode::UNAUTHORIZED).await;
    }
    // The same request with the genuine token goes through.
    assert_eq!(
        app.get("/api/v1/me", Some(&token)).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn bad_bodies_get_problem_documents_naming_the_fault() {
    let app = spawn_app().await;
    let res = app
        .request(Method::POST, "/api/v1/auth/login", None)
        .header("content-type", "application/json")
        .body(r#"{"username": "admin", "password": "#)
        .send()
        .await
        .unwrap();
    let body = problem(res, StatusCode::BAD_REQUEST).await;
    assert!(
        body["detail"].as_str().unwrap().contains("not valid JSON"),
        "{body}"
    );

    let res = app
        .post_json("/api/v1/auth/login", None, &json!({ "username": "admin" }))
        .await;
    let body = problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(
        body["detail"].as_str().unwrap().contains("password"),
        "{body}"
    );

    let res = app
        .request(Method::POST, "/api/v1/auth/login", None)
        .body(r#"{"username": "admin", "password": "x"}"#)
        .send()
        .await
        .unwrap();
    let body = problem(res, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("application/json"),
        "{body}"
    );

    // A JSON body over the configured limit.
    let huge = "x".repeat(200 * 1024);
    let res = app
        .post_json(
            "/api/v1/auth/login",
            None,
            &json!({ "username": huge, "password": "x" }),
        )
        .await;
    problem(res, StatusCode::PAYLOAD_TOO_LARGE).await;

    // Unknown addresses and methods answer with problems too.
    problem(
        app.get("/api/v1/nothing-here", None).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    let res = app
        .request(Method::DELETE, "/api/v1/me", None)
        .send()
        .await
        .unwrap();
    problem(res, StatusCode::METHOD_NOT_ALLOWED).await;
}

#[tokio::test]
async fn request_ids_are_echoed_or_generated() {
    let app = spawn_app().await;
    let res = app
        .request(Method::GET, "/healthz", None)
        .header("x-request-id", "trace-abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "trace-abc-123");

    let a = app.get("/healthz", None).await;
    let b = app.get("/healthz", None).await;
    let id = |r: &reqwest::Response| r.headers()["x-request-id"].to_str().unwrap().to_string();
    assert!(!id(&a).is_empty());
    assert_ne!(id(&a), id(&b), "each request gets its own id");

    // An id that could forge log lines is replaced, not echoed.
    let res = app
        .request(Method::GET, "/healthz", None)
        .header("x-request-id", "evil id\" injected=1")
        .send()
        .await
        .unwrap();
    assert_ne!(res.headers()["x-request-id"], "evil id\" injected=1");
}
