//! Results day with the shared cache gone: the portal runs on a private Redis, serves a
//! student's published results (filling the cache), then Redis is killed with SIGKILL. Reads,
//! sign-ins and readiness must keep working from the store — the portal stays up and says it
//! is degraded — and once Redis is back on the same port the cache is used again.
//!
//! The Redis here is a child process on a port of its own; the shared Redis is never touched.

mod common;

use common::university::{CSC201, DEAN, HOD, LECTURER, SENATE, STUDENTS};
use common::{cache_hits, json, path_matric, spawn_app_with, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A private redis-server, killed when dropped whatever the test's outcome.
struct PrivateRedis {
    port: u16,
    child: Option<Child>,
}

impl PrivateRedis {
    fn start(port: u16) -> PrivateRedis {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start redis-server ({e}): install Redis with ./scripts/services")
            });
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "private redis-server did not listen on {port} within 10 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        PrivateRedis {
            port,
            child: Some(child),
        }
    }

    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.kill();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

async fn publish_csc201(app: &TestApp) {
    let lecturer = app.login(LECTURER).await;
    let mut sheet = String::from("Matric No,CA,Exam\n");
    for (i, m) in STUDENTS.iter().enumerate() {
        sheet.push_str(&format!("{m},{},{}\n", 20 + i, 40 + i));
    }
    let (status, body) = app.upload_csv(&lecturer, CSC201.0, &sheet).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let report = app
        .wait_processed(&lecturer, body["id"].as_i64().unwrap())
        .await;
    assert_eq!(report["status"], "processed", "{report}");
    let base = format!("/api/v1/course-results/{}/2024-2025/first", CSC201.0);
    for (who, action) in [
        (LECTURER, "submit"),
        (HOD, "approve"),
        (DEAN, "approve"),
        (SENATE, "approve"),
        (SENATE, "publish"),
    ] {
        let token = app.login(who).await;
        let (status, body) = json(
            app.post_json(&format!("{base}/{action}"), Some(&token), &json!({}))
                .await,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{who} {action}: {body}");
    }
}

async fn results(app: &TestApp, token: &str) -> (StatusCode, Value) {
    let path = format!("/api/v1/students/{}/results", path_matric(STUDENTS[0]));
    json(app.get(&path, Some(token)).await).await
}

async fn readiness(app: &TestApp) -> (StatusCode, Value) {
    json(app.get("/readyz", None).await).await
}

#[tokio::test]
async fn portal_serves_from_the_store_while_redis_is_down() {
    let port = free_port();
    let mut redis = PrivateRedis::start(port);
    let prefix = format!("eportal-test-{}:", std::process::id());
    let app = spawn_app_with(|c| {
        c.cache_url = format!("redis://127.0.0.1:{}", redis.port);
        c.cache_prefix = prefix.clone();
    })
    .await;
    publish_csc201(&app).await;

    let student = app.login(STUDENTS[0]).await;
    let (status, before) = results(&app, &student).await;
    assert_eq!(status, StatusCode::OK, "{before}");
    assert_eq!(before["semesters"][0]["courses"][0]["code"], "CSC 201");
    let (status, ready) = readiness(&app).await;
    assert_eq!(
        (status, ready["status"].clone()),
        (StatusCode::OK, json!("ready")),
        "{ready}"
    );

    redis.kill();

    // Reads come from the store, with the same content, and promptly.
    let started = Instant::now();
    let (status, during) = results(&app, &student).await;
    assert_eq!(status, StatusCode::OK, "{during}");
    assert_eq!(
        during, before,
        "results read from the store differ from the cached ones"
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "a read with Redis down took {:?}",
        started.elapsed()
    );
    // Sign-ins still work (the rate limiter lets requests through when its counters fail).
    let again = app.login(STUDENTS[1]).await;
    assert!(!again.is_empty());
    // The portal says it is degraded, not down, so a load balancer keeps sending traffic.
    let (status, ready) = readiness(&app).await;
    assert_eq!(status, StatusCode::OK, "{ready}");
    assert_eq!(ready["status"], "degraded", "{ready}");
    assert_eq!(ready["checks"]["store"], "ok", "{ready}");
    assert_ne!(ready["checks"]["cache"], "ok", "{ready}");
    let (status, _) = json(app.get("/healthz", None).await).await;
    assert_eq!(status, StatusCode::OK);

    // Redis comes back on the same port: the same cache handle reconnects.
    let _redis_again = PrivateRedis::start(port);
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (status, ready) = readiness(&app).await;
        if status == StatusCode::OK && ready["status"] == "ready" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the portal did not use Redis again within 15 s: {ready}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (status, after) = results(&app, &student).await;
    assert_eq!(status, StatusCode::OK, "{after}");
    assert_eq!(after, before);
    // The read above filled the new Redis; the next one is a hit.
    let hits = cache_hits(&app).await;
    let (status, _) = results(&app, &student).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        cache_hits(&app).await,
        hits + 1,
        "the read after recovery was not a cache hit"
    );
    app.running.shutdown().await;
}

/// With Redis gone, session checks read the store: a sign-out during the outage still ends
/// the token at once, and signing in again works.
#[tokio::test]
async fn sessions_end_while_redis_is_down() {
    let port = free_port();
    let mut redis = PrivateRedis::start(port);
    let prefix = format!("eportal-test-sessions-{}:", std::process::id());
    let app = spawn_app_with(|c| {
        c.cache_url = format!("redis://127.0.0.1:{port}");
        c.cache_prefix = prefix.clone();
        c.auth.session_check_cache_secs = 3600;
    })
    .await;
    let student = app.login(STUDENTS[0]).await;
    let me = |token: String| {
        let app = &app;
        async move { app.get("/api/v1/me", Some(&token)).await.status() }
    };
    // The check above cached the session version in Redis.
    assert_eq!(me(student.clone()).await, StatusCode::OK);

    redis.kill();

    assert_eq!(
        me(student.clone()).await,
        StatusCode::OK,
        "the token stands"
    );
    let res = app
        .post_json("/api/v1/auth/logout", Some(&student), &json!({}))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        me(student.clone()).await,
        StatusCode::UNAUTHORIZED,
        "a token signed out while Redis was down still worked"
    );
    let again = app.login(STUDENTS[0]).await;
    assert_eq!(me(again).await, StatusCode::OK);
    app.running.shutdown().await;
}
