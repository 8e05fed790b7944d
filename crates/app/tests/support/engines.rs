//! The engines a cluster test runs against, each checked up front so that a missing one fails
//! the test with its name and `./scripts/services` instead of a timeout further on, and the
//! test's own share of each: a fresh PostgreSQL database, a RabbitMQ namespace and a Redis key
//! prefix that no other test or run uses. All three are removed again when the [`Isolation`]
//! is dropped, whatever the test's outcome.
//!
//! This module must never touch a database, queue or key it did not create.

use eportal::config::redact;
use eportal_ports::Cache;
use eportal_postgres::PgStore;
use eportal_rabbitmq::RabbitQueue;
use eportal_redis::RedisCache;
use sqlx::{Connection, PgConnection};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// The maintenance database of the PostgreSQL server the tests use.
pub fn postgres_admin_url() -> String {
    std::env::var("EPORTAL_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// The shared RabbitMQ broker.
pub fn amqp_url() -> String {
    std::env::var("EPORTAL_TEST_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
}

/// The shared Redis.
pub fn redis_url() -> String {
    std::env::var("EPORTAL_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// `base` with its database name replaced by `name` (query parameters kept).
pub fn with_database(base: &str, name: &str) -> String {
    let (head, query) = match base.split_once('?') {
        Some((h, q)) => (h, format!("?{q}")),
        None => (base, String::new()),
    };
    let authority = head.find("://").map_or(0, |i| i + 3);
    let path = head[authority..]
        .find('/')
        .map_or(head.len(), |i| authority + i);
    format!("{}/{name}{query}", &head[..path])
}

/// A name no other test of this run, or of another run, uses. The namespace form
/// (`eportal-test.{pid}.{case}.{n}`) is the one the RabbitMQ tests' sweep recognises, so
/// queues left by a killed run are deleted by a later one.
fn unique(case: &str) -> (u32, String, u32) {
    static N: AtomicU32 = AtomicU32::new(0);
    (
        std::process::id(),
        case.to_string(),
        N.fetch_add(1, Ordering::Relaxed),
    )
}

/// The test's own database, namespace and prefix on the shared engines.
pub struct Isolation {
    pub database_url: String,
    database: String,
    pub queue_namespace: String,
    pub cache_prefix: String,
    /// The broker the namespace lives on (the shared one, or a test's private node).
    amqp_url: String,
}

impl Isolation {
    /// Checks PostgreSQL, RabbitMQ (at `amqp_url`) and Redis answer, then creates a fresh,
    /// migrated database. Panics naming the engine that does not answer.
    pub async fn create(case: &str, amqp_url: &str) -> Isolation {
        let (pid, case, n) = unique(case);
        let database = format!("eportal_cluster_{pid}_{case}_{n}");
        let queue_namespace = format!("eportal-test.{pid}.{case}.{n}");
        let cache_prefix = format!("eportal-test:{pid}:{case}:{n}");
        require_redis(&redis_url(), &cache_prefix).await;
        require_rabbitmq(amqp_url, &queue_namespace).await;

        let admin = postgres_admin_url();
        let mut conn = PgConnection::connect(&admin).await.unwrap_or_else(|e| {
            panic!(
                "PostgreSQL is not reachable at {} ({e}); start it with ./scripts/services \
                 (or point EPORTAL_TEST_POSTGRES_URL at a server)",
                redact(&admin)
            )
        });
        sqlx::query(&format!("CREATE DATABASE \"{database}\""))
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| {
                panic!("PostgreSQL: cannot create the test database {database}: {e}")
            });
        let _ = conn.close().await;
        let iso = Isolation {
            database_url: with_database(&admin, &database),
            database,
            queue_namespace,
            cache_prefix,
            amqp_url: amqp_url.to_string(),
        };
        let store = iso.store().await;
        store
            .migrate()
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL: migrating the test database failed: {e}"));
        store.pool().close().await;
        iso
    }

    /// A store on the test's database, as another process would open it.
    pub async fn store(&self) -> PgStore {
        PgStore::connect(&self.database_url)
            .await
            .unwrap_or_else(|e| {
                panic!("PostgreSQL is not reachable ({e}); start it with ./scripts/services")
            })
    }

    /// The `EPORTAL_*` settings that put a process on this test's share of the engines.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("EPORTAL_DATABASE_URL".into(), self.database_url.clone()),
            ("EPORTAL_QUEUE_URL".into(), self.amqp_url.clone()),
            (
                "EPORTAL_QUEUE_NAMESPACE".into(),
                self.queue_namespace.clone(),
            ),
            ("EPORTAL_CACHE_URL".into(), redis_url()),
            ("EPORTAL_CACHE_PREFIX".into(), self.cache_prefix.clone()),
        ]
    }

    /// A handle on the test's namespace, for reading the queues' depths.
    pub async fn queue(&self) -> RabbitQueue {
        RabbitQueue::connect(&self.amqp_url, &self.queue_namespace, 1)
            .await
            .unwrap_or_else(|e| {
                panic!("RabbitMQ is not reachable ({e}); start it with ./scripts/services")
            })
    }
}

impl Drop for Isolation {
    fn drop(&mut self) {
        let admin = postgres_admin_url();
        let database = self.database.clone();
        let amqp = self.amqp_url.clone();
        let ns = self.queue_namespace.clone();
        // A thread of its own: this one may be inside the test's runtime or unwinding from it.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                let _ = tokio::time::timeout(
                    Duration::from_secs(10),
                    RabbitQueue::delete_namespace(&amqp, &ns),
                )
                .await;
                if let Ok(mut conn) = PgConnection::connect(&admin).await {
                    let sql = format!("DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)");
                    let _ = sqlx::query(&sql).execute(&mut conn).await;
                }
            });
        })
        .join();
    }
}

async fn require_redis(url: &str, prefix: &str) {
    let cache = RedisCache::connect(url, prefix, Duration::from_secs(2))
        .await
        .unwrap_or_else(|e| {
            panic!("Redis is not reachable at {url} ({e}); start it with ./scripts/services")
        });
    cache.ping().await.unwrap_or_else(|e| {
        panic!("Redis at {url} does not answer ({e}); start it with ./scripts/services")
    });
}

async fn require_rabbitmq(url: &str, ns: &str) {
    // Connecting declares the namespace's queues, which the processes would do anyway.
    RabbitQueue::connect(url, ns, 1).await.unwrap_or_else(|e| {
        panic!(
            "RabbitMQ is not reachable at {} ({e}); start it with ./scripts/services",
            redact(url)
        )
    });
}

/// Fails the test unless the haproxy binary runs.
pub fn require_haproxy() -> String {
    let bin = std::env::var("EPORTAL_TEST_HAPROXY").unwrap_or_else(|_| "haproxy".into());
    match std::process::Command::new(&bin).arg("-v").output() {
        Ok(out) if out.status.success() => bin,
        Ok(out) => panic!(
            "HAProxy ({bin} -v) failed: {}; install it with ./scripts/services",
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) => {
            panic!("HAProxy is not installed ({bin}: {e}); install it with ./scripts/services")
        }
    }
}
