//! Durability against `kill -9`: a child process (this test binary, re-run in child mode)
//! submits and applies sheets and reports each commit on stdout; the parent kills it with
//! SIGKILL mid-stream, reopens the file, and checks that everything reported is there.

mod common;

use eportal_core::Semester;
use eportal_ports::contract::store::fixture;
use eportal_ports::{JobQueue, Results, SheetStatus, Sheets};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const CHILD: &str = "EPORTAL_SQLITE_CRASH_CHILD";
const WANTED: usize = 25;

/// Child mode: submit and apply sheets until killed, reporting each commit.
async fn child(path: &str) {
    let store = common::open(std::path::Path::new(path)).await;
    let uni = fixture::seed(&store).await;
    println!("ready");
    for n in 1.. {
        let s = fixture::submit(&store, &uni.csc101, n).await;
        let scores: Vec<(usize, u16, u16)> = (0..5)
            .map(|i| (i, (n as u16 + i as u16) % 40, 30))
            .collect();
        store
            .apply_sheet(s.id, &fixture::judged(&uni, &scores), &uni.book)
            .await
            .expect("apply");
        println!("applied {}", s.id);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn committed_sheets_and_jobs_survive_kill_9() {
    if let Ok(path) = std::env::var(CHILD) {
        return child(&path).await;
    }
    let path = common::fresh_dir().join("crash.db");
    let mut proc = Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "committed_sheets_and_jobs_survive_kill_9",
            "--nocapture",
        ])
        .args(["--test-threads", "1"])
        .env(CHILD, &path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("child process starts");
    let out = proc.stdout.take().expect("child stdout");
    let (tx, rx) = std::sync::mpsc::channel::<i64>();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if let Some(id) = line.strip_prefix("applied ") {
                if tx.send(id.trim().parse().expect("sheet id")).is_err() {
                    return;
                }
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut reported = Vec::new();
    while reported.len() < WANTED {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(id) => reported.push(id),
            Err(e) => {
                let _ = proc.kill();
                panic!("child reported {} commits before {e}", reported.len());
            }
        }
    }
    proc.kill().expect("SIGKILL the child");
    proc.wait().expect("reap the child");

    let store = common::open(&path).await;
    let last = *reported.last().expect("some commits");
    let integrity: String = {
        use sqlx::Connection;
        let mut c = sqlx::SqliteConnection::connect(&format!("sqlite:{}", path.display()))
            .await
            .unwrap();
        sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_one(&mut c)
            .await
            .unwrap()
    };
    assert_eq!(integrity, "ok");
    for id in &reported {
        let s = store
            .sheet(*id)
            .await
            .unwrap()
            .expect("a reported sheet exists")
            .sheet;
        assert!(
            matches!(s.status, SheetStatus::Processed | SheetStatus::Superseded),
            "sheet {id} was reported applied but is {:?}",
            s.status
        );
    }
    let term = fixture::term("CSC 101", 2024, Semester::First);
    let sheets = store.sheets_for(&term).await.unwrap();
    let processed: Vec<_> = sheets
        .iter()
        .filter(|s| s.status == SheetStatus::Processed)
        .collect();
    assert_eq!(processed.len(), 1, "exactly one sheet is current");
    let p = processed[0].id;
    assert!(p >= last, "nothing reported was rolled back");
    // The child's n-th sheet (id n) gave student i a CA of (n + i) % 40 and an exam of 30.
    let current = store.course_records(&term).await.unwrap();
    assert_eq!(current.len(), 5, "the current sheet's rows are all there");
    for (i, r) in current.iter().enumerate() {
        let want = ((p as u16 + i as u16) % 40 + 30) * 10;
        assert_eq!(
            r.total.tenths(),
            want,
            "student {i} holds sheet {p}'s score"
        );
    }
    let jobs = store.queue().stats().await.unwrap();
    assert_eq!(
        (jobs.ready + jobs.delayed) as usize,
        sheets.len() + 1,
        "every stored sheet kept its job, and one refresh of their GPAs waits"
    );
    assert_eq!(store.stale_results().await.unwrap(), 5);
}
