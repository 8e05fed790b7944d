//! Shared helpers of the API tests: `spawn_app()` starts the real application (SQLite in a
//! fresh temporary data directory, in-process workers, port 0) and seeds a small university
//! through the store; `TestApp` speaks HTTP to it with reqwest.
//!
//! Nothing here may stand in for an engine: the tests talk to the same code path
//! `eportal serve` runs.
#![allow(dead_code)] // each test binary uses a different part of this module

pub mod courses;
pub mod documents;
pub mod postgres;
pub mod regrade;
pub mod university;

use eportal::app::Running;
use eportal::{App, Config};
use reqwest::{Method, Response, StatusCode};
use serde_json::Value;
use std::sync::OnceLock;
use std::time::Duration;

/// The password of every seeded account.
pub const PASSWORD: &str = "correct horse battery staple";

/// argon2id is slow on purpose: hash the shared password once per test binary.
async fn password_hash() -> String {
    static HASH: OnceLock<String> = OnceLock::new();
    if let Some(h) = HASH.get() {
        return h.clone();
    }
    let h =
        tokio::task::spawn_blocking(|| eportal::services::auth::hash_password_blocking(PASSWORD))
            .await
            .expect("hashing finishes");
    HASH.get_or_init(|| h).clone()
}

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub running: Running,
    _dir: tempfile::TempDir,
}

/// Starts the application with the test defaults and a seeded university.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Like [`spawn_app`], with the configuration adjusted first (tiny limits, …).
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    if std::env::var_os("RUST_LOG").is_some() {
        eportal::telemetry::init_tracing(eportal::config::LogFormat::Text);
    }
    let dir = tempfile::tempdir().expect("a temporary data directory");
    let mut config = Config {
        data_dir: dir.path().to_path_buf(),
        ..Config::default()
    };
    config.worker.poll_ms = 50;
    // The app runs inside this test binary: sheets are read by the real eportal executable.
    config.worker.sheet_parser = Some(env!("CARGO_BIN_EXE_eportal").into());
    adjust(&mut config);
    let app = App::build(config)
        .await
        .expect("the application builds over SQLite");
    // Bound as the portal binds its own address (a listen backlog for results-day bursts),
    // so the tests meet the same accept queue as a deployment.
    let listener = eportal::http::serve::bind("127.0.0.1:0".parse().unwrap()).expect("bind port 0");
    let running = app
        .start(Some(listener))
        .await
        .expect("the application starts");
    let addr = running.addr.expect("the portal role listens");
    university::seed(
        running.services.ports.store.as_ref(),
        &password_hash().await,
    )
    .await;
    TestApp {
        base: format!("http://{addr}"),
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("an HTTP client"),
        running,
        _dir: dir,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
    ) -> reqwest::RequestBuilder {
        let mut b = self.client.request(method, self.url(path));
        if let Some(t) = token {
            b = b.bearer_auth(t);
        }
        b
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Response {
        self.request(Method::GET, path, token)
            .send()
            .await
            .expect("the portal answers")
    }

    pub async fn post_json(&self, path: &str, token: Option<&str>, body: &Value) -> Response {
        self.request(Method::POST, path, token)
            .json(body)
            .send()
            .await
            .expect("the portal answers")
    }

    /// Signs in and returns the bearer token.
    pub async fn login(&self, username: &str) -> String {
        let res = self
            .post_json(
                "/api/v1/auth/login",
                None,
                &serde_json::json!({ "username": username, "password": PASSWORD }),
            )
            .await;
        let (status, body) = json(res).await;
        assert_eq!(status, StatusCode::OK, "login of {username}: {body}");
        body["token"].as_str().expect("a token").to_string()
    }

    /// Uploads `csv` as the raw body; returns the status and the JSON answer.
    pub async fn upload_csv(&self, token: &str, course: &str, csv: &str) -> (StatusCode, Value) {
        self.upload_bytes(token, course, "text/csv", csv.as_bytes().to_vec())
            .await
    }

    /// Uploads `bytes` as the raw body with `content_type`, for `course` in the first
    /// semester of 2024-2025; returns the status and the JSON answer.
    pub async fn upload_bytes(
        &self,
        token: &str,
        course: &str,
        content_type: &str,
        bytes: Vec<u8>,
    ) -> (StatusCode, Value) {
        let res = self
            .request(
                Method::POST,
                &format!("/api/v1/score-sheets?course={course}&session=2024-2025&semester=first"),
                Some(token),
            )
            .header("content-type", content_type)
            .body(bytes)
            .send()
            .await
            .expect("the portal answers");
        json(res).await
    }

    /// Like [`TestApp::upload_bytes`], asserting the upload is accepted (`202`); its sheet id.
    pub async fn upload_accepted(
        &self,
        token: &str,
        course: &str,
        content_type: &str,
        bytes: Vec<u8>,
    ) -> i64 {
        let (status, body) = self.upload_bytes(token, course, content_type, bytes).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
        body["id"].as_i64().expect("an id")
    }

    /// Polls a sheet until it is no longer queued (workers run in this process).
    pub async fn wait_processed(&self, token: &str, id: i64) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let (status, body) = json(
                self.get(&format!("/api/v1/score-sheets/{id}"), Some(token))
                    .await,
            )
            .await;
            assert_eq!(status, StatusCode::OK, "sheet {id}: {body}");
            if body["status"] != "queued" {
                return body;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "sheet {id} still queued after 30 s: are the workers running? {body}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// The count of results-cache hits so far, read from `/metrics`.
pub async fn cache_hits(app: &TestApp) -> u64 {
    let text = app
        .get("/metrics", None)
        .await
        .text()
        .await
        .expect("metrics");
    text.lines()
        .find(|l| l.starts_with("eportal_cache_total{outcome=\"hit\"}"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// The status and JSON body of a response (panics with the text if it is not JSON).
pub async fn json(res: Response) -> (StatusCode, Value) {
    let status = res.status();
    let text = res.text().await.expect("a body");
    let body = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{status}: body is not JSON ({e}): {text}"));
    (status, body)
}

/// Checks the RFC 9457 shape of a problem response and returns its body.
pub async fn problem(res: Response, expected: StatusCode) -> Value {
    let ct = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let (status, body) = json(res).await;
    assert_eq!(status, expected, "{body}");
    assert_eq!(ct, "application/problem+json", "problem content type");
    assert!(
        body["type"].as_str().is_some_and(|t| !t.is_empty()),
        "type: {body}"
    );
    assert!(
        body["title"].as_str().is_some_and(|t| !t.is_empty()),
        "title: {body}"
    );
    assert_eq!(body["status"], expected.as_u16(), "status member: {body}");
    assert!(
        body["detail"].as_str().is_some_and(|t| !t.is_empty()),
        "detail: {body}"
    );
    body
}

/// A matric number as it goes in a URL path.
pub fn path_matric(m: &str) -> String {
    m.replace('/', "%2F")
}

/// A results link of student `matric` at their account's current session version, as the
/// portal sends on publication.
pub async fn results_link(app: &TestApp, matric: &str) -> String {
    let services = &app.running.services;
    let m = eportal_core::MatricNo::parse(matric).expect("a valid matric number");
    let version = services
        .ports
        .store
        .session_version(m.as_str())
        .await
        .expect("the store answers")
        .unwrap_or(0);
    services.mint_result_link(&m, version)
}
