//! The sheet reader is a child process: every way it can end badly (an abort on allocation,
//! a panic, a hang, a CPU spin, garbage or endless output, a missing executable) must end the
//! sheet `rejected` (or `failed`, when no reader could start) with a reason, never crash or
//! wedge the worker. Stand-in readers are small shell scripts: real processes, real signals.

mod common;
mod hostile;

use common::university::{CSC201, LECTURER, STUDENTS};
use common::{json, spawn_app_with};
use reqwest::StatusCode;
use serde_json::Value;
use std::path::{Path, PathBuf};

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

fn valid_sheet() -> Vec<u8> {
    hostile::valid_xlsx(&[
        (STUDENTS[0], "30", "45"),
        (STUDENTS[1], "25.5", "30"),
        (STUDENTS[2], "10", "20"),
    ])
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
    let id = app
        .upload_accepted(&lecturer, CSC201.0, XLSX, valid_sheet())
        .await;
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
    let id = app
        .upload_accepted(&lecturer, CSC201.0, XLSX, valid_sheet())
        .await;
    let sheet = app.wait_processed(&lecturer, id).await;
    assert_eq!(sheet["status"], "failed", "{sheet}");
    let message = sheet["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("cannot start the sheet reader /nonexistent/eportal"),
        "{message}"
    );
}

#[tokio::test]
async fn the_real_reader_is_stopped_by_its_own_memory_limit() {
    use eportal::services::isolate::{read_in_child, ChildLimits};
    use eportal_core::sheet::SheetLimits;
    // Within every sheet limit (190,000 strings of 80 characters), yet the reader holds them
    // all: the strings alone are 15 MB, so 16 MB cannot hold them with the reader's buffers.
    let bytes = hostile::many_strings(190_000, 80);
    let program = PathBuf::from(env!("CARGO_BIN_EXE_eportal"));
    let limits = SheetLimits::default();
    let with = |memory_mb| ChildLimits {
        memory_mb,
        cpu_secs: 60,
        wall_secs: 120,
    };
    let roomy = read_in_child(&program, bytes.clone(), &limits, &with(512))
        .await
        .expect("the reader starts");
    assert_eq!(
        roomy.map(|s| s.rows.len()),
        Ok(1),
        "with 512 MB the sheet is read"
    );
    let tight = read_in_child(&program, bytes, &limits, &with(16))
        .await
        .expect("the reader starts");
    assert_eq!(
        tight.map(|s| s.rows.len()).unwrap_err().0,
        "the workbook could not be read within the memory allowed (16 MB); open it in Excel or \
         LibreOffice, save it again as .xlsx or .csv, and upload that file"
    );
}
