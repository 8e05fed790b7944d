//! The worker's failure paths end to end, in a running application over SQLite: a job that
//! fails once and then succeeds, one that always fails, a sheet whose processing kills its
//! worker task (restarted, counted, and the job set aside after the delivery limit), and a
//! sheet in which no row could be accepted.
//!
//! Failures are made with the debug-only fault hooks (`EPORTAL_FAULT_*`, see
//! `crates/app/src/services/faults.rs`), each naming one sheet by the SHA-256 of its bytes, so
//! the tests of this binary can run side by side without touching each other's sheets.

mod common;

use common::university::{CSC201, LECTURER, STUDENTS};
use common::{json, spawn_app_with, TestApp};
use eportal::Config;
use eportal_core::model::CourseTerm;
use eportal_core::{AcademicSession, CourseCode, Semester};
use reqwest::StatusCode;
use sha2::{Digest, Sha256};
use std::sync::Mutex;
use std::time::Duration;

/// The fault variables are process-wide; tests add their own sheet to them under this lock.
static ENV: Mutex<()> = Mutex::new(());

fn add_fault(var: &str, entry: &str) {
    let _guard = ENV.lock().unwrap_or_else(|p| p.into_inner());
    let mut all: Vec<String> = std::env::var(var)
        .map(|v| v.split(',').map(str::to_string).collect())
        .unwrap_or_default();
    all.push(entry.to_string());
    std::env::set_var(var, all.join(","));
}

fn sha(csv: &str) -> String {
    hex::encode(Sha256::digest(csv.as_bytes()))
}

/// A sheet of the three seeded students, made unique by `salt` (in the CA of the last row).
fn sheet(salt: u8) -> String {
    format!(
        "Matric No,CA,Exam\n{},30,45\n{},25,30\n{},{},20\n",
        STUDENTS[0],
        STUDENTS[1],
        STUDENTS[2],
        salt % 40
    )
}

/// Quick retries, and a delivery limit of 3 (with the retry budget inside it).
fn quick(c: &mut Config) {
    c.worker.retry.base_ms = 20;
    c.worker.retry.max_ms = 200;
    c.worker.retry.max_attempts = 3;
    c.worker.max_deliveries = 3;
    c.worker.lease_ms = 1000;
}

fn metric(text: &str, series: &str) -> u64 {
    text.lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse::<f64>().ok())
        .map_or(0, |v| v as u64)
}

async fn metrics(app: &TestApp) -> String {
    app.get("/metrics", None)
        .await
        .text()
        .await
        .expect("metrics")
}

async fn upload(app: &TestApp, token: &str, csv: &str) -> i64 {
    let (status, body) = app.upload_csv(token, CSC201.0, csv).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    body["id"].as_i64().expect("a sheet id")
}

/// Waits up to `secs` for the sheet to leave `queued` (the common helper allows 30 s).
async fn wait_final(app: &TestApp, token: &str, id: i64, secs: u64) -> serde_json::Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let (status, body) = json(
            app.get(&format!("/api/v1/score-sheets/{id}"), Some(token))
                .await,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        if body["status"] != "queued" {
            return body;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "sheet {id} still queued after {secs} s: {body}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_that_fails_once_is_retried_and_then_succeeds() {
    let csv = sheet(1);
    add_fault("EPORTAL_FAULT_FAIL_ON_SHEET", &format!("{}:1", sha(&csv)));
    let app = spawn_app_with(quick).await;
    let lecturer = app.login(LECTURER).await;
    let id = upload(&app, &lecturer, &csv).await;
    let done = wait_final(&app, &lecturer, id, 30).await;
    assert_eq!(done["status"], "processed", "{done}");
    assert_eq!(done["rows_accepted"], 3, "{done}");
    // Done: the sheet's job, then the refresh of its students' GPAs that applying it queued.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let m = loop {
        let m = metrics(&app).await;
        if metric(&m, "eportal_jobs_total{outcome=\"done\"}") >= 2
            || std::time::Instant::now() > deadline
        {
            break m;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(
        metric(&m, "eportal_jobs_total{outcome=\"retried\"}"),
        1,
        "one retry after the one failure\n{m}"
    );
    assert_eq!(metric(&m, "eportal_jobs_total{outcome=\"done\"}"), 2, "{m}");
    assert_eq!(metric(&m, "eportal_results_refreshed_total"), 3, "{m}");
    assert_eq!(metric(&m, "eportal_jobs_redelivered_total"), 1, "{m}");
    assert_eq!(metric(&m, "eportal_jobs_total{outcome=\"dead\"}"), 0, "{m}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_that_always_fails_ends_failed_with_its_reason() {
    let csv = sheet(2);
    add_fault(
        "EPORTAL_FAULT_FAIL_ON_SHEET",
        &format!("{}:always", sha(&csv)),
    );
    let app = spawn_app_with(quick).await;
    let lecturer = app.login(LECTURER).await;
    let id = upload(&app, &lecturer, &csv).await;
    let done = wait_final(&app, &lecturer, id, 30).await;
    assert_eq!(done["status"], "failed", "{done}");
    let message = done["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("gave up after 3 attempts: the database is unavailable"),
        "the lecturer reads why: {done}"
    );
    let m = metrics(&app).await;
    assert_eq!(
        metric(&m, "eportal_jobs_total{outcome=\"retried\"}"),
        2,
        "{m}"
    );
    assert_eq!(metric(&m, "eportal_jobs_total{outcome=\"dead\"}"), 1, "{m}");
    assert_eq!(metric(&m, "eportal_queue_depth{state=\"dead\"}"), 1, "{m}");

    // The worker goes on: the next sheet is processed.
    let next = upload(&app, &lecturer, &sheet(3)).await;
    assert_eq!(
        wait_final(&app, &lecturer, next, 30).await["status"],
        "processed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sheet_that_kills_its_worker_is_set_aside_after_the_delivery_limit() {
    let csv = sheet(4);
    add_fault("EPORTAL_FAULT_PANIC_ON_SHEET", &sha(&csv));
    let app = spawn_app_with(|c| {
        quick(c);
        c.worker.concurrency = 1;
    })
    .await;
    let lecturer = app.login(LECTURER).await;
    let id = upload(&app, &lecturer, &csv).await;

    // While the only worker is dead and waiting to be started again, the process is not
    // ready; watch /readyz until the sheet is final.
    let mut saw_unready = None;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let done = loop {
        let (code, ready) = json(app.get("/readyz", None).await).await;
        if code == StatusCode::SERVICE_UNAVAILABLE {
            saw_unready = Some(ready);
        }
        let (_, sheet) = json(
            app.get(&format!("/api/v1/score-sheets/{id}"), Some(&lecturer))
                .await,
        )
        .await;
        if sheet["status"] != "queued" {
            break sheet;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "still queued: {sheet}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    assert_eq!(done["status"], "failed", "{done}");
    assert_eq!(
        done["message"],
        "processing this sheet stopped the worker 3 times without finishing; it was set aside \
         so that it cannot stop it again. Check the file, or export it again from the \
         spreadsheet and upload the new copy"
    );
    let unready = saw_unready.expect("/readyz said 503 while no worker was alive");
    assert_eq!(unready["status"], "unavailable", "{unready}");
    assert_eq!(
        unready["checks"]["workers"], "0 of 1 workers alive",
        "{unready}"
    );

    let m = metrics(&app).await;
    assert_eq!(
        metric(&m, "eportal_worker_restarts_total"),
        3,
        "three deliveries, three deaths, three restarts\n{m}"
    );
    assert_eq!(metric(&m, "eportal_workers_alive"), 1, "{m}");
    assert_eq!(metric(&m, "eportal_jobs_total{outcome=\"dead\"}"), 1, "{m}");

    // The restarted worker processes the next sheet, and the process is ready again.
    let next = upload(&app, &lecturer, &sheet(5)).await;
    assert_eq!(
        wait_final(&app, &lecturer, next, 30).await["status"],
        "processed"
    );
    let (code, ready) = json(app.get("/readyz", None).await).await;
    assert_eq!(code, StatusCode::OK, "{ready}");
    assert_eq!(ready["workers"]["alive"], 1, "{ready}");
    assert_eq!(ready["checks"]["workers"], "ok", "{ready}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sheet_with_no_acceptable_row_is_rejected_and_the_scores_stay() {
    let app = spawn_app_with(|_| {}).await;
    let lecturer = app.login(LECTURER).await;
    let first = upload(&app, &lecturer, &sheet(6)).await;
    assert_eq!(
        wait_final(&app, &lecturer, first, 30).await["status"],
        "processed"
    );
    let term = CourseTerm {
        course_code: CourseCode::parse(CSC201.0).unwrap(),
        session: AcademicSession::parse("2024/2025").unwrap(),
        semester: Semester::First,
    };
    let store = &app.running.services.ports.store;
    let before = store.course_records(&term).await.unwrap();
    assert_eq!(before.len(), 3);

    // Every row refused: two unknown students and one exam over its maximum.
    let bad = format!(
        "Matric No,CA,Exam\nSCI/1999/0001,30,45\nSCI/1999/0002,20,40\n{},30,75\n",
        STUDENTS[0]
    );
    let id = upload(&app, &lecturer, &bad).await;
    let done = wait_final(&app, &lecturer, id, 30).await;
    assert_eq!(done["status"], "rejected", "{done}");
    let message = done["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with(
            "none of the 3 rows could be accepted, so the sheet was rejected as a whole and \
             the course's scores were left as they were: 2 rows, e.g. row 2: "
        ),
        "{message}"
    );
    assert!(message.contains("; 1 row, e.g. row 4: "), "{message}");
    assert_eq!(
        store.course_records(&term).await.unwrap(),
        before,
        "the previous scores stay"
    );
    let (_, earlier) = json(
        app.get(&format!("/api/v1/score-sheets/{first}"), Some(&lecturer))
            .await,
    )
    .await;
    assert_eq!(earlier["status"], "processed", "not superseded: {earlier}");
}
