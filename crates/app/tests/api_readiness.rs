//! `/readyz` as a load balancer reads it. While `eportal demo` builds its university the
//! portal answers, but `503 starting`: it has nobody's results yet. With the store stopped and
//! the cache up a portal can still serve cached results, so it stays in rotation (`200
//! degraded`) rather than letting a database outage take every portal out at once; with the
//! cache gone too it has nothing to serve, and says `503 unavailable`.
//!
//! The PostgreSQL and Redis stopped here are the test's own, on ports of their own.

mod cli_support;
mod common;

use cli_support::{accounts, eportal, login, Child};
use common::postgres::{forget_namespace, spawn_app_on, PrivatePostgres};
use common::{json, TestApp};
use reqwest::StatusCode;
use serde_json::Value;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const PASSWORD: &str = "pass-for-test";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_is_starting_until_its_results_are_published() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    let port = free_port();
    let mut cmd = eportal(&dir);
    cmd.args(["demo", "--students", "2000", "--password", PASSWORD])
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .arg("--data-dir")
        .arg(&dir);
    let mut child = Child::spawn(cmd, tmp.path().join("demo.log"));
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut starting = 0;
    loop {
        assert!(
            child.exited().is_none(),
            "the demo stopped: {}",
            child.log_tail()
        );
        assert!(
            Instant::now() < deadline,
            "the demo was not ready within 300 s: {}",
            child.log_tail()
        );
        let Ok(res) = http.get(format!("{base}/readyz")).send().await else {
            // Not listening yet, or still connecting its engines.
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let status = res.status();
        let body: Value = res.json().await.expect("readiness is JSON");
        if status == StatusCode::OK {
            assert_eq!(body["status"], "ready", "{body}");
            break;
        }
        assert_eq!(
            (status, body["status"].as_str()),
            (StatusCode::SERVICE_UNAVAILABLE, Some("starting")),
            "{body}"
        );
        starting += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        starting > 0,
        "/readyz never said starting while the demo was built"
    );
    // Ready means real answers: a printed student signs in and sees published results.
    child.wait_for("ready after", Duration::from_secs(10));
    let students = accounts(&child.seen, "student");
    let matric = students.first().expect("students are printed");
    let token = login(&http, &base, matric, PASSWORD).await;
    let res = http
        .get(format!(
            "{base}/api/v1/students/{}/results",
            matric.replace('/', "%2F")
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert!(
        !body["semesters"].as_array().expect("semesters").is_empty(),
        "ready, yet no published results: {body}"
    );
    child.stop(Duration::from_secs(30));
}

/// A private redis-server, killed when dropped.
struct PrivateRedis(std::process::Child);

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
        PrivateRedis(child)
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Polls `/readyz` until it gives `status`, within `secs`; returns the last body.
async fn readiness_becomes(app: &TestApp, code: StatusCode, status: &str, secs: u64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let (c, body) = json(app.get("/readyz", None).await).await;
        if c == code && body["status"] == status {
            return body;
        }
        assert!(
            Instant::now() < deadline,
            "/readyz did not say {code} {status} within {secs} s: {c} {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_portal_with_the_store_down_stays_in_rotation_while_its_cache_answers() {
    let pg = PrivatePostgres::start();
    let redis_port = free_port();
    let redis = PrivateRedis::start(redis_port);
    let (app, namespace) = spawn_app_on(&pg, |c| {
        c.cache_url = format!("redis://127.0.0.1:{redis_port}");
        c.cache_prefix = format!("eportal-test-readiness-{}:", std::process::id());
        c.breaker.cool_down_ms = 500;
    })
    .await;
    let ready = readiness_becomes(&app, StatusCode::OK, "ready", 10).await;
    assert_eq!(ready["checks"]["store"], "ok", "{ready}");

    pg.stop();
    let degraded = readiness_becomes(&app, StatusCode::OK, "degraded", 15).await;
    assert_ne!(degraded["checks"]["store"], "ok", "{degraded}");
    assert_eq!(degraded["checks"]["cache"], "ok", "{degraded}");

    // Nothing left to answer from: out of rotation.
    drop(redis);
    let down = readiness_becomes(&app, StatusCode::SERVICE_UNAVAILABLE, "unavailable", 15).await;
    assert_ne!(down["checks"]["cache"], "ok", "{down}");

    // The cache returns: back in rotation, degraded; then the store: ready.
    let _redis = PrivateRedis::start(redis_port);
    readiness_becomes(&app, StatusCode::OK, "degraded", 20).await;
    pg.resume();
    let ready = readiness_becomes(&app, StatusCode::OK, "ready", 30).await;
    assert_eq!(ready["breakers"]["store"], "closed", "{ready}");
    app.running.shutdown().await;
    forget_namespace(&namespace).await;
}
