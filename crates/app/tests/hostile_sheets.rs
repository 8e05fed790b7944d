//! Hostile score sheets uploaded through the API to a running portal: each generated file
//! (lying shared-string counts, huge cells, honest and forged zip bombs, deep XML, thousands
//! of worksheets, a million rows, millions of empty cells, formulas, non-spreadsheet zips)
//! ends `rejected` with a reason a lecturer can read, the process stays up with its peak
//! memory under a stated bound, and a valid sheet uploaded afterwards is processed.
//!
//! One test in this binary, so the peak memory measured is this run's alone.

mod common;
mod hostile;

use common::university::{CSC201, LECTURER, STUDENTS};
use common::{json, spawn_app};
use reqwest::StatusCode;

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
        let id = app
            .upload_accepted(&lecturer, CSC201.0, kind, h.bytes)
            .await;
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
    let id = app
        .upload_accepted(&lecturer, CSC201.0, XLSX, valid_sheet("=40+5|45"))
        .await;
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
