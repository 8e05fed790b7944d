//! Hostile score sheets uploaded through the API to a running portal: each generated file
//! (lying shared-string counts, huge cells, honest and forged zip bombs, deep XML, thousands
//! of worksheets, a million rows, millions of empty cells, formulas, non-spreadsheet zips)
//! ends `rejected` with a reason a lecturer can read, the process stays up with its peak
//! memory under a stated bound, and a valid sheet uploaded afterwards is processed.
//! Also: every way the sheet-reading child can die becomes a rejection, never a crash.

mod common;
mod hostile;

use common::university::{CSC201, LECTURER, STUDENTS};
use common::{json, spawn_app, spawn_app_with, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::path::{Path, PathBuf};

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// The peak resident memory of this test process (the portal and its workers run in it; the
/// sheet readers are child processes), in MB.
fn peak_rss_mb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/self/status");
    kb / 1024
}

/// Peak RSS allowed to this test process over the whole hostile run (measured: about 70 MB,
/// generators included). Without the limits and the child process, the huge-cell file alone
/// took the portal past 1 GB.
const PEAK_RSS_BOUND_MB: u64 = 150;

async fn upload(app: &TestApp, token: &str, bytes: Vec<u8>, content_type: &str) -> i64 {
    let res = app
        .request(
            Method::POST,
            &format!(
                "/api/v1/score-sheets?course={}&session=2024-2025&semester=first",
                CSC201.0
            ),
            Some(token),
        )
        .header("content-type", content_type)
        .body(bytes)
        .send()
        .await
        .expect("the portal answers");
    let (status, body) = json(res).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    body["id"].as_i64().expect("an id")
}

fn valid_sheet(exam_of_first: &str) -> Vec<u8> {
    hostile::valid_xlsx(&[
        (STUDENTS[0], "30", exam_of_first),
        (STUDENTS[1], "25.5", "30"),
        (STUDENTS[2], "10", "20"),
    ])
}

#[tokio::test]
async fn every_hostile_sheet_is_rejected_with_a_reason_and_the_portal_stays_up() {
    let app = spawn_app().await;
    let lecturer = app.login(LECTURER).await;
    for h in hostile::all() {
        let kind = if h.bytes.starts_with(b"PK") {
            XLSX
        } else {
            "text/csv"
        };
        let size = h.bytes.len();
        let started = std::time::Instant::now();
        let id = upload(&app, &lecturer, h.bytes, kind).await;
        let sheet = app.wait_processed(&lecturer, id).await;
        println!(
            "{:<52} {:>9} bytes  {:>6} ms  {}",
            h.name,
            size,
            started.elapsed().as_millis(),
            sheet["message"]
        );
        assert_eq!(sheet["status"], "rejected", "{}: {sheet}", h.name);
        let message = sheet["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(h.reason),
            "{} ({size} bytes) was rejected for: {message}\n expected the words: {}",
            h.name,
            h.reason
        );
        // The portal still answers between files.
        let (status, _) = json(app.get("/healthz", None).await).await;
        assert_eq!(status, StatusCode::OK, "after {}", h.name);
    }
    // A valid workbook (its first exam score a formula with a saved value) is processed.
    let id = upload(&app, &lecturer, valid_sheet("=40+5|45"), XLSX).await;
    let sheet = app.wait_processed(&lecturer, id).await;
    assert_eq!(sheet["status"], "processed", "{sheet}");
    assert_eq!(sheet["rows_accepted"], 3, "{sheet}");
    let peak = peak_rss_mb();
    println!("peak RSS of the test process: {peak} MB");
    assert!(
        peak < PEAK_RSS_BOUND_MB,
        "peak RSS of the test process was {peak} MB, above the {PEAK_RSS_BOUND_MB} MB bound"
    );
}

/// Writes an executable shell script standing in for the sheet reader.
fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).expect("script written");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    path
}

/// Uploads a valid sheet to an app whose sheet reader is `reader` and returns the final view.
async fn read_with(reader: PathBuf, adjust: impl FnOnce(&mut eportal::Config)) -> Value {
    let app = spawn_app_with(|c| {
        c.worker.sheet_parser = Some(reader);
        adjust(c);
    })
    .await;
    let lecturer = app.login(LECTURER).await;
    let id = upload(&app, &lecturer, valid_sheet("45"), XLSX).await;
    let sheet = app.wait_processed(&lecturer, id).await;
    // The worker survived its reader's death: the portal answers and the job is final.
    let (status, _) = json(app.get("/healthz", None).await).await;
    assert_eq!(status, StatusCode::OK);
    sheet
}

#[tokio::test]
async fn a_reader_that_dies_or_misbehaves_rejects_the_sheet_with_a_reason() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let cases = [
        (
            "aborts_on_allocation",
            "cat >/dev/null; echo 'memory allocation of 4294967296 bytes failed' >&2; kill -ABRT $$",
            "the workbook could not be read within the memory allowed (512 MB); open it in Excel or LibreOffice, save it again as .xlsx or .csv, and upload that file",
        ),
        (
            "panics",
            "cat >/dev/null; echo \"thread 'main' panicked: index out of bounds\" >&2; exit 101",
            "the workbook could not be read: the reader stopped on it unexpectedly; open it in Excel or LibreOffice, save it again as .xlsx or .csv, and upload that file",
        ),
        (
            "writes_garbage",
            "cat >/dev/null; echo 'this is not JSON'",
            "the workbook could not be read: the reader stopped on it unexpectedly",
        ),
        (
            "stops_half_way",
            "cat >/dev/null; echo '{\"sheet\":{\"format\":\"xlsx\",\"header_row\":1,\"sheet_name\":null}}'",
            "the workbook could not be read: the reader stopped on it unexpectedly",
        ),
        (
            "writes_forever",
            "cat >/dev/null; yes '{\"row\":{\"row\":2,\"matric\":\"A\",\"ca\":\"1\",\"exam\":\"2\"}}'",
            "the workbook could not be read: the reader stopped on it unexpectedly",
        ),
        (
            "hangs",
            "exec sleep 600",
            "the workbook could not be read within the time allowed (2 seconds)",
        ),
        (
            "spins_on_the_cpu",
            "cat >/dev/null; ulimit -S -t 1; while :; do :; done",
            "the workbook could not be read within the time allowed",
        ),
    ];
    for (name, body, reason) in cases {
        let reader = script(dir.path(), name, body);
        let started = std::time::Instant::now();
        let sheet = read_with(reader, |c| c.worker.sheet_wall_secs = 2).await;
        assert_eq!(sheet["status"], "rejected", "{name}: {sheet}");
        let message = sheet["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(reason),
            "{name}: rejected for: {message}\n expected: {reason}"
        );
        assert!(
            started.elapsed().as_secs() < 20,
            "{name}: took {:?}",
            started.elapsed()
        );
    }
}

#[tokio::test]
async fn a_reader_that_cannot_start_fails_the_sheet_after_bounded_retries() {
    let app = spawn_app_with(|c| {
        c.worker.sheet_parser = Some("/nonexistent/eportal".into());
        c.worker.retry.max_attempts = 2;
        c.worker.retry.base_ms = 10;
        c.worker.retry.max_ms = 20;
    })
    .await;
    let lecturer = app.login(LECTURER).await;
    let id = upload(&app, &lecturer, valid_sheet("45"), XLSX).await;
    let sheet = app.wait_processed(&lecturer, id).await;
    assert_eq!(sheet["status"], "failed", "{sheet}");
    let message = sheet["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("cannot start the sheet reader /nonexistent/eportal"),
        "{message}"
    );
}
