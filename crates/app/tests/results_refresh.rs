//! Stored GPAs after a burst of sheets: an applied sheet marks its students' semester
//! results stale and queues a refresh, and the worker recomputes each marked student once
//! for the whole burst, not once a sheet (embedded deployment, the workers' own loop).

use eportal::{App, Config};
use eportal_core::model::CourseTerm;
use eportal_core::sheet::estimate_rows;
use eportal_ports::contract::store::fixture::{expected_results, seed};
use eportal_ports::{NewSheet, SheetMode, SheetStatus};
use std::time::{Duration, Instant};

fn csv(students: &[eportal_core::MatricNo], k: u16) -> Vec<u8> {
    let mut s = String::from("S/N,Matric No,CA (40),Exam (60)\r\n");
    for (i, m) in students.iter().enumerate() {
        let ca = 10 + (i as u16 * 7 + k * 3) % 30;
        let exam = 20 + (i as u16 * 11 + k * 5) % 40;
        s.push_str(&format!("{},{m},{ca},{exam}\r\n", i + 1));
    }
    s.into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_sheets_recomputes_each_students_gpa_once() {
    let dir = tempfile::tempdir().expect("a data directory");
    let mut config = Config {
        data_dir: dir.path().to_path_buf(),
        ..Config::default()
    };
    config.worker.poll_ms = 20;
    // One handler: the order of the jobs is then exactly the queue's (FIFO).
    config.worker.concurrency = 1;
    config.worker.sheet_parser = Some(env!("CARGO_BIN_EXE_eportal").into());
    let app = App::build(config).await.expect("the application builds");
    let store = app.services.ports.store.clone();
    let blobs = app.services.ports.blobs.clone();
    let uni = seed(store.as_ref()).await;
    // Four students, each on three sheets (three courses), all uploaded before any worker runs.
    let students = &uni.students[..4];
    let terms: [&CourseTerm; 3] = [&uni.csc101, &uni.mth101, &uni.csc102];
    let mut ids = Vec::new();
    for (k, t) in terms.into_iter().enumerate() {
        let bytes = csv(students, k as u16);
        let new = NewSheet {
            term: t.clone(),
            sha256: blobs.put(&bytes).await.unwrap(),
            size_bytes: bytes.len() as u64,
            filename: Some(format!("sheet-{k}.csv")),
            uploaded_by: "STF/001".into(),
            mode: SheetMode::AddRows,
            rows_estimate: Some(estimate_rows(&bytes)),
        };
        ids.push(store.submit_sheet(&new, None).await.unwrap().0.id);
    }
    let running = app.start(None).await.expect("the workers start");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, queued) = store
            .all_sheets(Some(SheetStatus::Queued), 1, 0)
            .await
            .unwrap();
        let stale = store.stale_results().await.unwrap();
        if queued == 0 && stale == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{queued} sheets queued and {stale} results stale after 60 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for id in &ids {
        let s = store.sheet(*id).await.unwrap().unwrap().sheet;
        assert_eq!(
            (s.status, s.rows_accepted),
            (SheetStatus::Processed, 4),
            "{s:?}"
        );
    }
    // One pass for the burst: four students refreshed, not twelve (one a sheet each).
    let refreshed = running.services.metrics.results_refreshed.get();
    assert_eq!(refreshed, 4);
    for m in students {
        let records = store.student_records(m).await.unwrap();
        assert_eq!(records.len(), 3, "{m}");
        assert_eq!(
            store.semester_results(m).await.unwrap(),
            expected_results(m, &records, &uni.policy),
            "{m}: the stored GPAs are those of all three courses"
        );
    }
    running.shutdown().await;
}
