//! What only the SQLite adapter promises: the file and its pragmas, migrations, several
//! stores on one file, the jobs table as the sheets' queue, and lease-token fencing.

mod common;

use eportal_core::discipline::JobMeta;
use eportal_core::jobs::{Envelope, Job};
use eportal_core::model::CourseTerm;
use eportal_core::{CourseCode, Semester};
use eportal_ports::contract::store::fixture;
use eportal_ports::{Directory, JobQueue, NewSheet, PortError, QueueStats, Sheets};
use eportal_sqlite::SqliteStore;
use sqlx::{Connection, SqliteConnection};
use std::time::{Duration, Instant};

async fn raw(path: &std::path::Path) -> SqliteConnection {
    SqliteConnection::connect(&format!("sqlite:{}", path.display()))
        .await
        .expect("a plain connection to the test file")
}

#[tokio::test]
async fn connect_creates_a_wal_file_with_its_directory() {
    let path = common::fresh_dir().join("nested/deeper/eportal.db");
    let store = common::open(&path).await;
    assert!(path.exists(), "the database file is created");
    let mut c = raw(&path).await;
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&mut c)
        .await
        .unwrap();
    assert_eq!(mode, "wal");
    // Set before the file's first page is written, or SQLite keeps its 4 KiB for good.
    let page: i64 = sqlx::query_scalar("PRAGMA page_size")
        .fetch_one(&mut c)
        .await
        .unwrap();
    assert_eq!(page, 16_384, "a new database has 16 KiB pages");
    let fks: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pragma_foreign_key_list('students')")
        .fetch_one(&mut c)
        .await
        .unwrap();
    assert_eq!(fks, 1, "students refer to programmes");
    store.close().await;
}

/// Committed pages reach the database file by the store's background checkpointer, well
/// before the writer's own threshold (5,000 log pages) and with nothing closed.
#[tokio::test]
async fn committed_pages_are_copied_into_the_database_file_in_the_background() {
    let path = common::fresh_dir().join("c.db");
    let store = common::open(&path).await;
    fixture::seed(&store).await;
    let mut c = raw(&path).await;
    let pages: i64 = sqlx::query_scalar("PRAGMA page_count")
        .fetch_one(&mut c)
        .await
        .unwrap();
    let size: i64 = sqlx::query_scalar("PRAGMA page_size")
        .fetch_one(&mut c)
        .await
        .unwrap();
    let wanted = u64::try_from(pages * size).unwrap();
    assert!(pages > 20, "the seeded database has {pages} pages");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let on_disk = std::fs::metadata(&path).unwrap().len();
        if on_disk >= wanted {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "after 5 s the database file holds {on_disk} of {wanted} bytes"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    store.close().await;
}

#[tokio::test]
async fn foreign_keys_are_enforced_on_the_store_connections() {
    let store = common::open(&common::fresh_dir().join("e.db")).await;
    let uni = fixture::seed(&store).await;
    // A sheet of a known course that names an unknown student must not be stored.
    let s = fixture::submit(&store, &fixture::term("CSC 101", 2024, Semester::First), 1).await;
    let policy = eportal_core::GradingPolicy::default();
    let ghost = fixture::matric("SCI/2024/0999");
    let outcome = eportal_ports::SheetOutcome::Judged {
        accepted: vec![fixture::row(&policy, 2, &ghost, 10, 10)],
        rejected: vec![],
    };
    match store.apply_sheet(s.id, &outcome, &uni.book).await {
        Err(PortError::Invalid(m)) => assert!(m.contains("does not exist"), "{m}"),
        other => panic!("expected Invalid, got {other:?}"),
    }
    let again = store.sheet(s.id).await.unwrap().unwrap().sheet;
    assert_eq!(
        again.status,
        eportal_ports::SheetStatus::Queued,
        "rolled back whole"
    );
}

#[tokio::test]
async fn migrating_twice_keeps_the_data() {
    let store = common::open(&common::fresh_dir().join("e.db")).await;
    fixture::seed(&store).await;
    store.migrate().await.expect("second migration is a no-op");
    assert_eq!(store.count_students().await.unwrap(), 5);
}

#[tokio::test]
async fn a_second_store_on_the_same_file_sees_the_data_and_the_jobs() {
    let path = common::fresh_dir().join("e.db");
    let a = common::open(&path).await;
    let uni = fixture::seed(&a).await;
    let b = common::open(&path).await;
    assert_eq!(b.count_students().await.unwrap(), 5);
    let s = fixture::submit(&a, &uni.csc101, 1).await;
    let d = b
        .queue()
        .receive(Duration::from_secs(30))
        .await
        .unwrap()
        .expect("job visible");
    assert_eq!(d.envelope.job, Job::ProcessSheet { sheet_id: s.id });
    b.queue().ack(&d).await.unwrap();
    assert_eq!(a.queue().stats().await.unwrap(), QueueStats::default());
}

#[tokio::test]
async fn submit_sheet_enqueues_exactly_one_job_and_keeps_no_outbox() {
    let path = common::fresh_dir().join("e.db");
    let store = common::open(&path).await;
    fixture::seed(&store).await;
    let new = NewSheet {
        term: CourseTerm {
            course_code: CourseCode::parse("CSC 101").unwrap(),
            session: fixture::session(2024),
            semester: Semester::First,
        },
        sha256: fixture::sha(9),
        size_bytes: 1,
        filename: None,
        uploaded_by: fixture::LECTURER.into(),
        mode: eportal_ports::SheetMode::Replace,
        rows_estimate: None,
    };
    let (s, _) = store.submit_sheet(&new, Some("req-9")).await.unwrap();
    store.submit_sheet(&new, Some("req-10")).await.unwrap();
    let q = store.queue();
    assert_eq!(
        q.stats().await.unwrap().ready,
        1,
        "a resubmission adds no job"
    );
    let d = q
        .receive(Duration::from_secs(30))
        .await
        .unwrap()
        .expect("the sheet's job");
    // The job carries the course's department for the queue disciplines.
    assert_eq!(
        d.envelope,
        Envelope::new(Job::ProcessSheet { sheet_id: s.id }, Some("req-9".into())).with_meta(
            JobMeta {
                rows: None,
                class: Some("CSC".into()),
                background: false,
            }
        )
    );
    assert!(
        store.outbox_pending(10).await.unwrap().is_empty(),
        "the queue is the outbox"
    );
    store.outbox_done(&[1, 2]).await.unwrap();
    // The job survives the store being closed and reopened.
    store.close().await;
    let reopened = common::open(&path).await;
    let stats = reopened.queue().stats().await.unwrap();
    assert_eq!(
        (stats.ready + stats.in_flight),
        1,
        "the job is still there: {stats:?}"
    );
}

#[tokio::test]
async fn a_worker_whose_lease_ran_out_cannot_settle_the_job() {
    let store = common::open(&common::fresh_dir().join("e.db")).await;
    let q = store.queue_named("fencing");
    q.publish(&Envelope::new(Job::ProcessSheet { sheet_id: 1 }, None))
        .await
        .unwrap();
    let slow = q
        .receive(Duration::from_millis(200))
        .await
        .unwrap()
        .expect("delivered");
    let deadline = Instant::now() + Duration::from_secs(10);
    let fast = loop {
        if let Some(d) = q.receive(Duration::from_secs(60)).await.unwrap() {
            break d;
        }
        assert!(
            Instant::now() < deadline,
            "the expired lease was never released"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!((slow.attempt, fast.attempt), (1, 2));
    assert_ne!(slow.tag, fast.tag, "a new lease has a new token");
    for r in [
        q.ack(&slow).await,
        q.retry(&slow, Duration::ZERO, "late").await,
        q.dead_letter(&slow, "late").await,
    ] {
        assert!(matches!(r, Err(PortError::Conflict(_))), "{r:?}");
    }
    assert_eq!(
        q.stats().await.unwrap().in_flight,
        1,
        "the new holder keeps it"
    );
    q.ack(&fast).await.expect("the current holder acks");
    assert!(
        matches!(q.ack(&fast).await, Err(PortError::Conflict(_))),
        "acked once only"
    );
    let bogus = eportal_ports::Delivery {
        tag: "nonsense".into(),
        ..fast
    };
    assert!(matches!(q.ack(&bogus).await, Err(PortError::Invalid(_))));
}

#[tokio::test]
async fn an_unreadable_job_is_dead_lettered_with_its_reason() {
    let path = common::fresh_dir().join("e.db");
    let store = common::open(&path).await;
    let q = store.queue_named("poison");
    let mut c = raw(&path).await;
    sqlx::query(
        "INSERT INTO jobs (queue, payload, state, available_at_ms, created_at_ms, updated_at_ms) \
         VALUES ('poison', '{\"v\":99,\"job\":{\"type\":\"process_sheet\",\"sheet_id\":1}}', \
         'ready', 0, 0, 0)",
    )
    .execute(&mut c)
    .await
    .unwrap();
    q.publish(&Envelope::new(Job::ProcessSheet { sheet_id: 2 }, None))
        .await
        .unwrap();
    let d = q
        .receive(Duration::from_secs(30))
        .await
        .unwrap()
        .expect("the good job");
    assert_eq!(d.envelope.job, Job::ProcessSheet { sheet_id: 2 });
    assert_eq!(q.stats().await.unwrap().dead, 1);
    let why: String = sqlx::query_scalar("SELECT last_error FROM jobs WHERE state = 'dead'")
        .fetch_one(&mut c)
        .await
        .unwrap();
    assert!(why.contains("version 99"), "{why}");
}

#[tokio::test]
async fn a_path_that_cannot_be_a_database_is_a_clear_error() {
    let dir = common::fresh_dir();
    std::fs::write(dir.join("file"), b"not a directory").unwrap();
    let bad = dir.join("file/eportal.db");
    match SqliteStore::connect(bad.to_str().unwrap()).await {
        Err(PortError::Unavailable { message, .. }) => {
            assert!(message.contains("eportal.db"), "names the path: {message}")
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    assert!(matches!(
        SqliteStore::connect(" ").await,
        Err(PortError::Invalid(_))
    ));
}

/// A database made before sheets had modes (the migrations up to 0004 only), with sheets,
/// row errors, scores and retries that refer to them, is brought up to date with every row
/// and every reference kept: the table rebuild must not lose or orphan anything.
#[tokio::test]
async fn the_sheets_rebuild_keeps_an_older_databases_rows_and_references() {
    let dir = common::fresh_dir();
    let path = dir.join("old.db");
    let old = dir.join("old-migrations");
    std::fs::create_dir_all(&old).unwrap();
    let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    for entry in std::fs::read_dir(&here).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().into_string().unwrap();
        if name.as_str() < "0005" {
            std::fs::copy(entry.path(), old.join(&name)).unwrap();
        }
    }
    {
        let store = SqliteStore::connect(path.to_str().unwrap()).await.unwrap();
        store.close().await;
        let mut c = raw(&path).await;
        sqlx::migrate::Migrator::new(old.as_path())
            .await
            .unwrap()
            .run(&mut c)
            .await
            .expect("the old migrations run");
        sqlx::raw_sql(
            "INSERT INTO faculties VALUES ('SCI', 'Science');
             INSERT INTO departments VALUES ('CSC', 'Computer Science', 'SCI');
             INSERT INTO programmes VALUES ('BSC', 'B.Sc.', 'CSC', 4);
             INSERT INTO students VALUES ('SCI/2024/0001', 'Okafor', 'Ada', 'BSC', 100, 2024);
             INSERT INTO courses VALUES ('CSC 101', 'Programming', 3, 'CSC', 100, 1);
             INSERT INTO sheets (course_code, session, semester, sha256, size_bytes,
                 uploaded_by, uploaded_at_ms, status)
             VALUES ('CSC 101', 2024, 1, 'aa', 10, 'L1', 1, 'superseded'),
                    ('CSC 101', 2024, 1, 'bb', 10, 'L1', 2, 'processed');
             UPDATE sheets SET superseded_by = 2 WHERE id = 1;
             INSERT INTO sheet_row_errors (sheet_id, row, matric, kind, message)
             VALUES (1, 3, 'X', 'unknown_student', 'row 3: no such student');
             INSERT INTO score_records VALUES
                 ('CSC 101', 2024, 1, 'SCI/2024/0001', 300, 400, 700, 'A', 5, 1, 2, 5);
             INSERT INTO sheet_retries VALUES (1, 2, 'the worker stopped');",
        )
        .execute(&mut c)
        .await
        .expect("rows of the old schema");
        c.close().await.unwrap();
    }

    let store = common::open(&path).await;
    let term = fixture::term("CSC 101", 2024, Semester::First);
    let sheets = store.sheets_for(&term).await.unwrap();
    let kept: Vec<(i64, &str, Option<i64>, &str)> = sheets
        .iter()
        .map(|s| (s.id, s.status.as_str(), s.superseded_by, s.mode.as_str()))
        .collect();
    assert_eq!(
        kept,
        [
            (2, "processed", None, "replace"),
            (1, "superseded", Some(2), "replace")
        ]
    );
    let report = store.sheet(1).await.unwrap().unwrap();
    assert_eq!(report.row_errors.len(), 1);
    assert_eq!(store.sheet_retries(&[1]).await.unwrap().len(), 1);
    let mut c = raw(&path).await;
    let dangling: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pragma_foreign_key_check")
        .fetch_one(&mut c)
        .await
        .unwrap();
    assert_eq!(dangling, 0);
    // The references still hold: a sheet with scores cannot be deleted.
    let refused = sqlx::query("DELETE FROM sheets WHERE id = 2")
        .execute(&mut c)
        .await;
    assert!(refused.is_err(), "score_records still refer to sheets");
    // And the superseded file may be uploaded again as a new sheet.
    let again = NewSheet {
        term,
        sha256: "aa".into(),
        size_bytes: 10,
        filename: None,
        uploaded_by: "L1".into(),
        mode: eportal_ports::SheetMode::Replace,
        rows_estimate: None,
    };
    let (sheet, created) = store.submit_sheet(&again, None).await.unwrap();
    assert!(created);
    assert_eq!(sheet.id, 3);
    store.close().await;
}
