//! A fresh, migrated PostgreSQL database per test, on the server the engineers' machines
//! and CI run (`./scripts/services`), so tests can run in parallel without seeing each
//! other's rows. The database is dropped when the test's thread ends.
//!
//! Must never touch a database it did not create, and must fail (not skip) when the server
//! is unreachable.

#![allow(dead_code)]

use eportal_ports::RecordStore;
use eportal_postgres::{redact_url, PgStore, PgStoreOptions};
use rand::Rng;
use sqlx::{Connection, PgConnection};
use std::cell::RefCell;
use std::sync::Arc;

const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// The maintenance database URL: `EPORTAL_TEST_POSTGRES_URL`, or the local server.
pub fn base_url() -> String {
    std::env::var("EPORTAL_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_URL.to_string())
}

/// `base` with its database name replaced by `name` (query parameters kept).
pub fn with_database(base: &str, name: &str) -> String {
    let (head, query) = match base.split_once('?') {
        Some((h, q)) => (h, format!("?{q}")),
        None => (base, String::new()),
    };
    let authority_start = head.find("://").map_or(0, |i| i + 3);
    let path_start = head[authority_start..]
        .find('/')
        .map_or(head.len(), |i| authority_start + i);
    format!("{}/{name}{query}", &head[..path_start])
}

async fn admin(base: &str) -> PgConnection {
    PgConnection::connect(base).await.unwrap_or_else(|e| {
        panic!(
            "PostgreSQL is not reachable at {} ({e}); start it with ./scripts/services \
             or point EPORTAL_TEST_POSTGRES_URL at a server",
            redact_url(base)
        )
    })
}

/// Drops its database when the owning test thread exits (after the test's runtime and its
/// pools are gone). Best effort: a failure only leaves an `eportal_t_…` database behind.
struct DropDatabase {
    base: String,
    names: Vec<String>,
}

impl Drop for DropDatabase {
    fn drop(&mut self) {
        let base = self.base.clone();
        let names = std::mem::take(&mut self.names);
        // A new thread: this one's thread-locals (the async runtime's included) are being
        // torn down and must not be used any more.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                let Ok(mut conn) = PgConnection::connect(&base).await else {
                    return;
                };
                for name in names {
                    let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                    let _ = sqlx::query(&sql).execute(&mut conn).await;
                }
            });
        })
        .join();
    }
}

thread_local! {
    static CREATED: RefCell<DropDatabase> = RefCell::new(DropDatabase {
        base: base_url(),
        names: Vec::new(),
    });
}

/// Creates a new empty database, migrated, and returns its URL.
pub async fn fresh_database() -> String {
    let url = empty_database().await;
    let store = connect(&url, &PgStoreOptions::default()).await;
    store
        .migrate()
        .await
        .expect("migrations apply to an empty database");
    store.pool().close().await;
    url
}

/// Creates a new database without any schema (dropped like the others) and returns its URL.
pub async fn empty_database() -> String {
    let base = base_url();
    let mut conn = admin(&base).await;
    let name = format!("eportal_t_{:016x}", rand::thread_rng().gen::<u64>());
    sqlx::query(&format!("CREATE DATABASE \"{name}\""))
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL: cannot create test database {name}: {e}"));
    let _ = conn.close().await;
    CREATED.with(|c| c.borrow_mut().names.push(name.clone()));
    with_database(&base, &name)
}

/// Connects to a test database (another pool, as another process would have).
pub async fn connect(url: &str, opts: &PgStoreOptions) -> PgStore {
    PgStore::connect_with(url, opts).await.unwrap_or_else(|e| {
        panic!("PostgreSQL is not reachable ({e}); start it with ./scripts/services")
    })
}

/// A fresh, empty, migrated store of its own: the contract suites' factory.
pub async fn fresh() -> Arc<dyn RecordStore> {
    let url = fresh_database().await;
    Arc::new(connect(&url, &PgStoreOptions::default()).await)
}
