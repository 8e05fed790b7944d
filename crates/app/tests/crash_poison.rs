//! A poison sheet in the embedded deployment: processing it kills the whole `eportal serve`
//! process (an abort, as a parser running out of memory does). The process is started again
//! after each death, as systemd would; the job comes back each time with its delivery count
//! one higher, and once it has been delivered `worker.max_deliveries` times it is set aside
//! when it is received, before it runs again: the sheet ends `failed` with the reason, the job
//! is in the dead-letter place, and the next valid sheet is processed by the same process.
//!
//! The death is made deterministic with the debug-only fault hook
//! `EPORTAL_FAULT_ABORT_ON_SHEET` (see `crates/app/src/services/faults.rs`), which aborts the
//! process when its worker starts on the sheet with that SHA-256: a real abort, not a
//! simulation inside the process, and at a known moment (the job is in hand).

mod cli_support;
mod common;

use cli_support::{eportal, login, open, Child};
use common::university::{LECTURER, STUDENTS};
use common::PASSWORD;
use sha2::{Digest, Sha256};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::time::{Duration, Instant};

const MAX_DELIVERIES: u32 = 3;

fn serve(dir: &Path, log: &str, poison_sha: &str) -> Child {
    let mut cmd = eportal(dir);
    cmd.args(["serve", "--role", "all", "--listen", "127.0.0.1:0"])
        .env("EPORTAL_WORKER__LEASE_MS", "1000")
        .env("EPORTAL_WORKER__POLL_MS", "50")
        .env("EPORTAL_WORKER__CONCURRENCY", "1")
        .env("EPORTAL_WORKER__MAX_DELIVERIES", MAX_DELIVERIES.to_string())
        .env(
            "EPORTAL_WORKER__RETRY__MAX_ATTEMPTS",
            MAX_DELIVERIES.to_string(),
        )
        .env("EPORTAL_FAULT_ABORT_ON_SHEET", poison_sha)
        .env("RUST_LOG", "info");
    Child::spawn(cmd, dir.join(log))
}

async fn upload(http: &reqwest::Client, base: &str, token: &str, csv: &str) -> i64 {
    let res = http
        .post(format!(
            "{base}/api/v1/score-sheets?course=CSC201&session=2024-2025&semester=first"
        ))
        .header("content-type", "text/csv")
        .bearer_auth(token)
        .body(csv.to_string())
        .send()
        .await
        .expect("the portal answers");
    let status = res.status();
    let body: serde_json::Value = res.json().await.expect("JSON");
    assert_eq!(status, 202, "{body}");
    body["id"].as_i64().expect("a sheet id")
}

/// The sheet's JSON, or `None` if the process did not answer (it may be dying).
async fn sheet(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    id: i64,
) -> Option<serde_json::Value> {
    let res = http
        .get(format!("{base}/api/v1/score-sheets/{id}"))
        .bearer_auth(token)
        .send()
        .await
        .ok()?;
    res.json().await.ok()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sheet_that_kills_the_process_is_set_aside_after_the_delivery_limit() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    {
        let s = open(dir).await;
        let hash = tokio::task::spawn_blocking(|| {
            eportal::services::auth::hash_password_blocking(PASSWORD)
        })
        .await
        .unwrap();
        common::university::seed(s.ports.store.as_ref(), &hash).await;
    }
    let poison = format!(
        "Matric No,CA,Exam\n{},31,45\n{},25,30\n{},10,20\n",
        STUDENTS[0], STUDENTS[1], STUDENTS[2]
    );
    let valid = poison.replace(",31,", ",32,");
    let poison_sha = hex::encode(Sha256::digest(poison.as_bytes()));

    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let mut proc = serve(dir, "run0.log", &poison_sha);
    let mut base = proc.wait_listening(Duration::from_secs(60));
    // Tokens are signed with a key kept in the database: one serves every restart.
    let token = login(&http, &base, LECTURER, PASSWORD).await;
    let id = upload(&http, &base, &token, &poison).await;

    let mut deaths = 0;
    let deadline = Instant::now() + Duration::from_secs(120);
    let done = loop {
        if let Some(status) = proc.exited() {
            deaths += 1;
            assert_eq!(
                status.signal(),
                Some(6),
                "death {deaths} was not the poison sheet's abort ({status})\n{}",
                proc.log_tail()
            );
            assert!(
                proc.log_tail()
                    .contains("fault hook: aborting the process on sheet"),
                "{}",
                proc.log_tail()
            );
            assert!(
                deaths <= MAX_DELIVERIES,
                "the poison sheet killed the process {deaths} times; the limit is {MAX_DELIVERIES}"
            );
            // Started again on the same data directory, as a service manager would.
            proc = serve(dir, &format!("run{deaths}.log"), &poison_sha);
            base = proc.wait_listening(Duration::from_secs(60));
            continue;
        }
        if let Some(s) = sheet(&http, &base, &token, id).await {
            if s["status"] != "queued" {
                break s;
            }
        }
        assert!(
            Instant::now() < deadline,
            "after {deaths} deaths the sheet is still queued after 120 s\n{}",
            proc.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(
        deaths, MAX_DELIVERIES,
        "one death per delivery up to the limit"
    );
    assert_eq!(done["status"], "failed", "{done}");
    assert_eq!(
        done["message"],
        "processing this sheet stopped the worker 3 times without finishing; it was set aside \
         so that it cannot stop it again. Check the file, or export it again from the \
         spreadsheet and upload the new copy"
    );

    // The same process goes on: the next valid sheet is processed.
    let next = upload(&http, &base, &token, &valid).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let processed = loop {
        let s = sheet(&http, &base, &token, next)
            .await
            .expect("the portal answers");
        if s["status"] != "queued" {
            break s;
        }
        assert!(Instant::now() < deadline, "valid sheet still queued: {s}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(processed["status"], "processed", "{processed}");
    assert_eq!(processed["rows_accepted"], 3, "{processed}");
    assert!(proc.exited().is_none(), "{}", proc.log_tail());
    let metrics = http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics
            .lines()
            .any(|l| l == "eportal_queue_depth{state=\"dead\"} 1"),
        "the poison job waits in the dead-letter place:\n{metrics}"
    );
    assert_eq!(proc.stop(Duration::from_secs(30)), Some(0));
}
