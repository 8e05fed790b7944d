//! What only the SQLite adapter promises: the file and its pragmas, migrations, several
//! stores on one file, the jobs table as the sheets' queue, and lease-token fencing.

mod common;

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
    let fks: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pragma_foreign_key_list('students')")
        .fetch_one(&mut c)
        .await
        .unwrap();
    assert_eq!(fks, 1, "students refer to programmes");
    store.close().await;
}

#[tokio::test]
async fn foreign_keys_are_enforced_on_the_store_connections() {
    let store = common::open(&common::fresh_dir().join("e.db")).await;
    fixture::seed(&store).await;
    // A sheet of a known course that names an unknown student must not be stored.
    let s = fixture::submit(&store, &fixture::term("CSC 101", 2024, Semester::First), 1).await;
    let policy = eportal_core::GradingPolicy::default();
    let ghost = fixture::matric("SCI/2024/0999");
    let outcome = eportal_ports::SheetOutcome::Judged {
        accepted: vec![fixture::row(&policy, 2, &ghost, 10, 10)],
        rejected: vec![],
    };
    match store.apply_sheet(s.id, &outcome, &policy).await {
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
    assert_eq!(
        d.envelope,
        Envelope::new(Job::ProcessSheet { sheet_id: s.id }, Some("req-9".into()))
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
