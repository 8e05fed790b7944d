//! PostgreSQL-only cases about the engine itself: connecting, migrating, and the schema's
//! constraints holding even against a writer that bypasses the adapter.

mod common;

use eportal_core::{GradingPolicy, PolicyBook};
use eportal_ports::contract::store::fixture::{judged, seed, submit, Uni};
use eportal_ports::{Directory, Policies, PortError, Results, SheetSummary, Sheets};
use eportal_postgres::{PgStore, PgStoreOptions};
use std::time::Duration;

#[tokio::test]
async fn an_unreachable_server_is_named_without_its_password() {
    let opts = PgStoreOptions {
        acquire_timeout: Duration::from_secs(2),
        ..PgStoreOptions::default()
    };
    // Port 1 on the loopback interface: nothing listens there.
    let url = "postgres://eportal:topsecret@127.0.0.1:1/eportal";
    match PgStore::connect_with(url, &opts).await {
        Err(e @ PortError::Unavailable { .. }) => {
            let msg = e.to_string();
            assert!(msg.contains("PostgreSQL"), "{msg}");
            assert!(msg.contains("127.0.0.1:1/eportal"), "{msg}");
            assert!(!msg.contains("topsecret"), "password leaked: {msg}");
            assert!(e.is_transient());
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    match PgStore::connect("mysql://nope").await {
        Err(PortError::Invalid(msg)) => assert!(msg.contains("PostgreSQL URL"), "{msg}"),
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[tokio::test]
async fn migrating_again_changes_nothing() {
    let url = common::fresh_database().await;
    let store = common::connect(&url, &PgStoreOptions::default()).await;
    let uni = seed(&store).await;
    store.migrate().await.expect("second migrate is a no-op");
    assert_eq!(
        store.count_students().await.unwrap(),
        uni.students.len() as u64
    );
}

#[tokio::test]
async fn an_institution_from_before_policy_books_becomes_version_one() {
    // The schema as it was before policy books, with an institution and its policy.
    let url = common::empty_database().await;
    let store = common::connect(&url, &PgStoreOptions::default()).await;
    let mut before = sqlx::migrate!("./migrations");
    let older: Vec<_> = before
        .migrations
        .iter()
        .filter(|m| m.version < 10)
        .cloned()
        .collect();
    before.migrations = older.into();
    before.run(store.pool()).await.expect("migrations up to 9");
    let policy = GradingPolicy::four_point();
    sqlx::query(
        "INSERT INTO institution (name, short_name, policy_json) VALUES ('Old U', 'OU', $1)",
    )
    .bind(policy.to_json())
    .execute(store.pool())
    .await
    .unwrap();

    store.migrate().await.expect("the policy books migration");
    let one = PolicyBook {
        version: 1,
        ..PolicyBook::single(policy.clone())
    };
    assert_eq!(store.active_policy().await.unwrap(), Some(one));
    assert_eq!(store.active_policy_version().await.unwrap(), 1);
    let (_, stored) = store.institution().await.unwrap().expect("institution");
    assert_eq!(stored, policy);
}

#[tokio::test]
async fn every_connection_carries_the_statement_timeout() {
    let url = common::fresh_database().await;
    let opts = PgStoreOptions {
        statement_timeout: Duration::from_millis(1500),
        ..PgStoreOptions::default()
    };
    let store = common::connect(&url, &opts).await;
    let t: String = sqlx::query_scalar("SHOW statement_timeout")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(t, "1500ms");
    let slow = sqlx::query("SELECT pg_sleep(5)")
        .execute(store.pool())
        .await;
    assert!(slow.is_err(), "a statement past the timeout is cancelled");
}

#[tokio::test]
async fn a_score_for_an_unknown_student_is_refused_whole() {
    let url = common::fresh_database().await;
    let store = common::connect(&url, &PgStoreOptions::default()).await;
    let uni = seed(&store).await;
    let s = submit(&store, &uni.csc101, 1).await;
    let mut outcome = judged(&uni, &[(0, 30, 40)]);
    if let eportal_ports::SheetOutcome::Judged { accepted, .. } = &mut outcome {
        let mut ghost = accepted[0].clone();
        ghost.matric = eportal_core::MatricNo::parse("GHOST/1").unwrap();
        accepted.push(ghost);
    }
    match store.apply_sheet(s.id, &outcome, &uni.book).await {
        Err(PortError::Invalid(msg)) => {
            assert!(msg.contains("does not exist"), "{msg}");
            assert!(msg.contains("GHOST/1"), "the student is named: {msg}");
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
    let sheet = store.sheet(s.id).await.unwrap().expect("stored").sheet;
    assert_eq!(
        sheet.status,
        eportal_ports::SheetStatus::Queued,
        "nothing applied"
    );
    assert!(store.course_records(&uni.csc101).await.unwrap().is_empty());
}

/// A fresh store with the fixture university and one applied sheet: CSC 101 with the first
/// student's score.
async fn one_score_applied() -> (PgStore, Uni, SheetSummary) {
    let url = common::fresh_database().await;
    let store = common::connect(&url, &PgStoreOptions::default()).await;
    let uni = seed(&store).await;
    let s = submit(&store, &uni.csc101, 1).await;
    store
        .apply_sheet(s.id, &judged(&uni, &[(0, 30, 40)]), &uni.book)
        .await
        .unwrap();
    (store, uni, s)
}

#[tokio::test]
async fn score_versions_are_unique_by_constraint() {
    let (store, uni, _) = one_score_applied().await;
    // A second version 1 of the same score, written around the adapter, is refused.
    let dup = sqlx::query(
        "INSERT INTO score_versions (course_code, session, semester, matric_no, version, ca, \
         exam, total, grade, points, sheet_id, recorded_at_ms) \
         SELECT course_code, session, semester, matric_no, version, ca, exam, total, grade, \
         points, sheet_id, recorded_at_ms FROM score_versions",
    )
    .execute(store.pool())
    .await;
    let err = dup.expect_err("a duplicate version must be refused");
    let db = err.as_database_error().expect("a database error");
    assert!(db.is_unique_violation(), "{db}");
    // And a term never has two processed class lists (replacing sheets) at once.
    let other = submit(&store, &uni.csc101, 2).await;
    let two = sqlx::query("UPDATE sheets SET status = 'processed' WHERE id = $1")
        .bind(other.id)
        .execute(store.pool())
        .await;
    let err = two.expect_err("two processed replacing sheets in one term must be refused");
    assert!(err
        .as_database_error()
        .is_some_and(|d| d.is_unique_violation()));
}

/// Scores are checked once a sheet, not by a foreign key a row (migration 0012); what scores
/// refer to still cannot be removed or renamed around the adapter, while a row nothing scored
/// refers to can, and an upsert that keeps a key is no rename.
#[tokio::test]
async fn what_scores_refer_to_cannot_be_removed() {
    let (store, uni, s) = one_score_applied().await;
    let scored = uni.students[0].as_str();
    let code = uni.csc101.course_code.as_str();
    let refused = [
        (
            "DELETE FROM students WHERE matric_no = $1",
            scored,
            "students",
        ),
        (
            "UPDATE students SET matric_no = 'RENAMED/1' WHERE matric_no = $1",
            scored,
            "students",
        ),
        ("DELETE FROM courses WHERE code = $1", code, "courses"),
        (
            "DELETE FROM sheets WHERE id::text = $1",
            &s.id.to_string(),
            "sheets",
        ),
        (
            "DELETE FROM score_versions WHERE matric_no = $1",
            scored,
            "score_versions",
        ),
    ];
    for (sql, key, table) in refused {
        let err = sqlx::query(sql)
            .bind(key)
            .execute(store.pool())
            .await
            .expect_err(sql);
        let db = err.as_database_error().expect("a database error");
        assert!(db.is_foreign_key_violation(), "{sql}: {db}");
        assert_eq!(
            db.constraint(),
            Some(format!("scores_refer_to_{table}").as_str())
        );
    }
    let kept = sqlx::query("UPDATE students SET surname = 'Kept' WHERE matric_no = $1")
        .bind(scored)
        .execute(store.pool())
        .await
        .expect("a scored student's other fields may change");
    assert_eq!(kept.rows_affected(), 1);
    sqlx::query(
        "INSERT INTO students SELECT 'FREE/1', surname, first_name, programme_code, level, \
         entry_session FROM students WHERE matric_no = $1",
    )
    .bind(scored)
    .execute(store.pool())
    .await
    .unwrap();
    let gone = sqlx::query("DELETE FROM students WHERE matric_no = 'FREE/1'")
        .execute(store.pool())
        .await
        .expect("a student without scores may be removed");
    assert_eq!(gone.rows_affected(), 1);
    assert_eq!(store.course_records(&uni.csc101).await.unwrap().len(), 1);
}

#[test]
fn test_databases_keep_the_server_and_options() {
    assert_eq!(
        common::with_database("postgres://postgres@127.0.0.1:5432/postgres", "x"),
        "postgres://postgres@127.0.0.1:5432/x"
    );
    assert_eq!(
        common::with_database("postgres://u:p@h/db?sslmode=disable", "x"),
        "postgres://u:p@h/x?sslmode=disable"
    );
    assert_eq!(
        common::with_database("postgres://h:5432", "x"),
        "postgres://h:5432/x"
    );
}

/// A table that grows by thousands of rows is analysed by the store itself: its planner
/// statistics follow the import without autovacuum (which may be off, and which waits a
/// naptime between runs).
#[tokio::test]
async fn a_table_that_grows_fast_is_analysed_by_the_store() {
    use eportal_core::model::{Registration, Student};
    use eportal_core::{AcademicSession, MatricNo};
    let url = common::fresh_database().await;
    let store = common::connect(&url, &PgStoreOptions::default()).await;
    let uni = seed(&store).await;
    let analysed = |store: PgStore| async move {
        sqlx::query_scalar::<_, bool>(
            "SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables \
             WHERE relname = 'registrations'",
        )
        .fetch_one(store.pool())
        .await
        .expect("pg_stat_user_tables")
    };
    assert!(
        !analysed(store.clone()).await,
        "a fresh table has not been analysed"
    );
    let programme = store
        .student(&uni.students[0])
        .await
        .unwrap()
        .expect("a seeded student")
        .programme_code;
    let students: Vec<Student> = (0..6_000)
        .map(|i| Student {
            matric_no: MatricNo::parse(&format!("STA/2024/{:05}", i + 1)).unwrap(),
            surname: "Stats".into(),
            first_name: format!("N{i}"),
            programme_code: programme.clone(),
            level: 100,
            entry_session: AcademicSession::new(2024).unwrap(),
        })
        .collect();
    store.upsert_students(&students).await.unwrap();
    let regs: Vec<Registration> = students
        .iter()
        .map(|s| Registration {
            matric_no: s.matric_no.clone(),
            course_code: uni.csc101.course_code.clone(),
            session: uni.csc101.session,
            semester: uni.csc101.semester,
        })
        .collect();
    store.upsert_registrations(&regs).await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !analysed(store.clone()).await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "registrations not analysed 20 s after 6,000 rows were written"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
