//! The registry's views of sheets and jobs over HTTP: every sheet with its job's state (done,
//! retrying with its latest error, dead-lettered with the reason), the dead letters, and who
//! may see them (administrator and senate only). Jobs are made to fail with the debug-only
//! fault hook (`EPORTAL_FAULT_FAIL_ON_SHEET`), each test naming its own sheets by SHA-256.

mod common;

use common::university::{ADMIN, CSC201, DEAN, HOD, LECTURER, SENATE, STUDENTS};
use common::{json, problem, spawn_app_with, TestApp};
use reqwest::StatusCode;
use serde_json::Value;
use sha2::{Digest, Sha256};

fn flaky_sheet() -> String {
    format!(
        "Matric No,CA,Exam\n{},32,42\n{},22,32\n{},12,22\n",
        STUDENTS[0], STUDENTS[1], STUDENTS[2]
    )
}

/// The fault variable is process-wide: each test adds its own sheets to it, under a lock.
fn add_fault(entry: &str) {
    static ENV: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = ENV.lock().unwrap_or_else(|p| p.into_inner());
    let var = "EPORTAL_FAULT_FAIL_ON_SHEET";
    let mut all: Vec<String> = std::env::var(var)
        .map(|v| v.split(',').map(str::to_string).collect())
        .unwrap_or_default();
    all.push(entry.to_string());
    std::env::set_var(var, all.join(","));
}

fn sha(csv: &str) -> String {
    hex::encode(Sha256::digest(csv.as_bytes()))
}

fn failing_sheet() -> String {
    // Unique to this test: no other test binary names these bytes in a fault hook.
    format!(
        "Matric No,CA,Exam\n{},31,41\n{},21,31\n{},11,21\n",
        STUDENTS[0], STUDENTS[1], STUDENTS[2]
    )
}

async fn upload(app: &TestApp, token: &str, csv: &str) -> Value {
    let (status, body) = app.upload_csv(token, CSC201.0, csv).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    app.wait_processed(token, body["id"].as_i64().unwrap())
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_registry_sees_every_sheet_its_job_and_the_dead_letters() {
    let bad = failing_sheet();
    let flaky = flaky_sheet();
    add_fault(&format!("{}:always", sha(&bad)));
    add_fault(&format!("{}:1", sha(&flaky)));
    let app = spawn_app_with(|c| {
        c.worker.retry.base_ms = 20;
        c.worker.retry.max_ms = 200;
        c.worker.retry.max_attempts = 3;
        c.worker.max_deliveries = 3;
    })
    .await;
    let lecturer = app.login(LECTURER).await;
    let good = upload(&app, &lecturer, &common::courses::sheet()).await;
    assert_eq!(good["status"], "processed", "{good}");
    let failed = upload(&app, &lecturer, &bad).await;
    assert_eq!(failed["status"], "failed", "{failed}");
    let reason = failed["message"].as_str().unwrap().to_string();
    assert!(reason.starts_with("gave up after 3 attempts"), "{reason}");
    // Fails once, is retried, then succeeds.
    let recovered = upload(&app, &lecturer, &flaky).await;
    assert_eq!(recovered["status"], "processed", "{recovered}");

    for who in [ADMIN, SENATE] {
        let token = app.login(who).await;
        let (status, page) = json(app.get("/api/v1/admin/sheets", Some(&token)).await).await;
        assert_eq!(status, StatusCode::OK, "{who}: {page}");
        assert_eq!(page["total"], 3);
        let sheets = page["sheets"].as_array().unwrap();
        // Newest first: the recovered one, the failed one, then the first processed one.
        assert_eq!(sheets[0]["id"], recovered["id"]);
        assert_eq!(sheets[0]["job"]["state"], "done");
        assert_eq!(sheets[0]["job"]["retries"], 1, "failed once: {page}");
        assert_eq!(sheets[1]["id"], failed["id"]);
        assert_eq!(sheets[1]["status"], "failed");
        assert_eq!(sheets[1]["job"]["state"], "dead_lettered");
        assert_eq!(sheets[1]["job"]["reason"], reason.as_str());
        // Three attempts: two retries before it was given up on.
        assert_eq!(sheets[1]["job"]["retries"], 2, "{page}");
        assert_eq!(sheets[1]["uploaded_by"], LECTURER);
        assert_eq!(sheets[1]["term"]["course_code"], "CSC 201");
        assert_eq!(sheets[2]["id"], good["id"]);
        assert_eq!(sheets[2]["status"], "superseded");
        assert_eq!(sheets[2]["job"]["state"], "done");
        assert_eq!(sheets[2]["job"]["reason"], Value::Null);
        assert_eq!(sheets[2]["job"]["retries"], 0);
        assert_eq!(sheets[2]["rows_accepted"], 3);
        // The queue's totals agree: one job dead, none waiting.
        assert_eq!(page["queue"]["dead"], 1, "{page}");
        assert_eq!(page["queue"]["ready"], 0, "{page}");

        let (status, only) = json(
            app.get(
                "/api/v1/admin/sheets?status=processed&limit=1",
                Some(&token),
            )
            .await,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{only}");
        // The first sheet was superseded by the recovered one (same course and term).
        assert_eq!(only["total"], 1);
        assert_eq!(only["sheets"][0]["id"], recovered["id"]);

        let (status, dead) = json(app.get("/api/v1/admin/dead-letters", Some(&token)).await).await;
        assert_eq!(status, StatusCode::OK, "{dead}");
        assert_eq!(dead["total"], 1);
        assert_eq!(dead["sheets"][0]["id"], failed["id"]);
        assert_eq!(dead["sheets"][0]["job"]["reason"], reason.as_str());
    }

    let admin = app.login(ADMIN).await;
    let body = problem(
        app.get("/api/v1/admin/sheets?status=lost&limit=0", Some(&admin))
            .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    let names: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["status", "limit"], "{body}");

    for who in [LECTURER, HOD, DEAN, STUDENTS[0]] {
        let token = app.login(who).await;
        for url in ["/api/v1/admin/sheets", "/api/v1/admin/dead-letters"] {
            let body = problem(app.get(url, Some(&token)).await, StatusCode::FORBIDDEN).await;
            assert_eq!(
                body["detail"],
                "only the registry administrator and senate may see every sheet and job",
                "{who} {url}"
            );
        }
    }
}
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_waiting_for_its_retry_is_shown_retrying_with_its_error() {
    let csv = format!(
        "Matric No,CA,Exam\n{},33,43\n{},23,33\n{},13,23\n",
        STUDENTS[0], STUDENTS[1], STUDENTS[2]
    );
    add_fault(&format!("{}:always", sha(&csv)));
    // A retry delay far longer than the test: the job stays waiting for its second try.
    let app = spawn_app_with(|c| {
        c.worker.retry.base_ms = 600_000;
        c.worker.retry.max_ms = 600_000;
    })
    .await;
    let lecturer = app.login(LECTURER).await;
    let admin = app.login(ADMIN).await;
    let (status, body) = app.upload_csv(&lecturer, CSC201.0, &csv).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    let job = loop {
        let (_, page) = json(app.get("/api/v1/admin/sheets", Some(&admin)).await).await;
        let job = page["sheets"][0]["job"].clone();
        if job["state"] != "pending" {
            assert_eq!(page["sheets"][0]["status"], "queued", "{page}");
            break job;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never retried: {page}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(job["state"], "retrying", "{job}");
    assert_eq!(job["retries"], 1, "{job}");
    assert!(
        job["reason"]
            .as_str()
            .unwrap()
            .contains("the database is unavailable"),
        "{job}"
    );
}
