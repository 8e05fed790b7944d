//! An engine that cannot be reached stops the process at start, with a message naming the
//! setting to fix and the engine behind it — never a hang, never a half-started portal.
//! Port 1 on loopback has nothing listening, so each connection is refused at once.

mod cli_support;

use cli_support::{eportal, outcome, run};
use sqlx::{Connection, PgConnection};

fn expect_refusal(envs: &[(&str, &str)], setting: &str, engine: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let mut cmd = eportal(tmp.path());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let started = std::time::Instant::now();
    let (code, out, err) = outcome(&run(cmd.arg("migrate")));
    assert_ne!(code, 0, "{setting}: {out}{err}");
    assert!(err.contains(setting), "the message names {setting}: {err}");
    assert!(err.contains(engine), "the message names {engine}: {err}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(30),
        "{engine} unreachable took {:?} to report",
        started.elapsed()
    );
}

#[test]
fn unreachable_postgres_is_named() {
    expect_refusal(
        &[
            (
                "EPORTAL_DATABASE_URL",
                "postgres://postgres@127.0.0.1:1/eportal",
            ),
            ("EPORTAL_QUEUE_URL", "amqp://guest:guest@127.0.0.1:1/%2f"),
        ],
        "EPORTAL_DATABASE_URL",
        "PostgreSQL",
    );
}

#[test]
fn unreachable_redis_is_named() {
    expect_refusal(
        &[("EPORTAL_CACHE_URL", "redis://127.0.0.1:1")],
        "EPORTAL_CACHE_URL",
        "Redis",
    );
}

/// RabbitMQ is reached after the database, so this one needs a real (scratch) database.
#[tokio::test]
async fn unreachable_rabbitmq_is_named() {
    let admin = std::env::var("EPORTAL_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let mut conn = PgConnection::connect(&admin).await.unwrap_or_else(|e| {
        panic!("PostgreSQL is not reachable at {admin} ({e}): start it with ./scripts/services")
    });
    let db = format!("eportal_t_cli_{}", std::process::id());
    sqlx::query(&format!("CREATE DATABASE {db}"))
        .execute(&mut conn)
        .await
        .expect("create a scratch database");
    let url = format!("postgres://postgres@127.0.0.1:5432/{db}");
    let outcome = std::panic::catch_unwind(|| {
        expect_refusal(
            &[
                ("EPORTAL_DATABASE_URL", &url),
                ("EPORTAL_QUEUE_URL", "amqp://guest:guest@127.0.0.1:1/%2f"),
            ],
            "EPORTAL_QUEUE_URL",
            "RabbitMQ",
        )
    });
    sqlx::query(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
        .execute(&mut conn)
        .await
        .expect("drop the scratch database");
    if let Err(p) = outcome {
        std::panic::resume_unwind(p);
    }
}
