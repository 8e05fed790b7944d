//! PostgreSQL adapter: the [`RecordStore`] of the distributed deployment, with a
//! transactional outbox that any number of portal processes may relay from safely.
//!
//! Every multi-row change runs in one transaction; concurrent processes are kept apart by
//! constraints, row locks (`FOR UPDATE [SKIP LOCKED]`), a per-term advisory lock and, for a
//! regrade's switch to a new grading policy book, a table lock that holds sheet applies off
//! (`policies`, `switch`), never by timing. Queries are built at run time (no compile-time
//! checked macros), so building the crate never needs a database. This module must never
//! hand a password to a log or an error.

mod amendments;
mod apply;
mod convert;
mod directory;
mod documents;
mod error;
mod import;
mod ledger;
mod ordered;
mod outbox;
mod policies;
mod regrade;
mod results;
mod sheets;
mod stats;
mod switch;
mod users;
mod workflow;

use async_trait::async_trait;
use eportal_core::discipline::QueueOrder;
use eportal_ports::error::PortResult;
use eportal_ports::{PortError, RecordStore};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

pub use error::redact_url;

/// The engine name every error of this adapter carries.
pub(crate) const ENGINE: &str = "PostgreSQL";

/// How the store connects and how long a relay's claim on outbox rows lasts.
#[derive(Debug, Clone)]
pub struct PgStoreOptions {
    /// Upper bound on open connections; callers beyond it wait up to `acquire_timeout`.
    pub max_connections: u32,
    pub acquire_timeout: Duration,
    /// The server cancels any statement running longer than this.
    pub statement_timeout: Duration,
    /// How long rows handed out by `outbox_pending` stay claimed by that caller (and, under a
    /// discipline other than FIFO, how long the relay lease lasts).
    pub outbox_claim: Duration,
    /// The order in which `outbox_pending` hands jobs out (see `outbox.rs`).
    pub order: QueueOrder,
}

impl Default for PgStoreOptions {
    fn default() -> Self {
        PgStoreOptions {
            max_connections: 16,
            acquire_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(30),
            outbox_claim: Duration::from_secs(30),
            order: QueueOrder::default(),
        }
    }
}

/// The PostgreSQL record store. Cheap to clone: clones share one connection pool.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
    outbox_claim_ms: i64,
    order: QueueOrder,
    /// Who this store is when it claims outbox rows: unique per `connect`, shared by clones.
    relay_id: Arc<str>,
    /// Rows written to the tables that grow, to keep their statistics fresh (`stats.rs`).
    stats: Arc<stats::Stats>,
}

impl PgStore {
    /// Connects with the default options (see [`PgStoreOptions`]).
    pub async fn connect(url: &str) -> Result<PgStore, PortError> {
        Self::connect_with(url, &PgStoreOptions::default()).await
    }

    /// Connects and checks the server answers; the error names the server without its
    /// password.
    pub async fn connect_with(url: &str, opts: &PgStoreOptions) -> Result<PgStore, PortError> {
        let unreachable = |e: &dyn std::fmt::Display| {
            PortError::unavailable(
                ENGINE,
                format!("cannot connect to {}: {e}", redact_url(url)),
            )
        };
        if opts.max_connections == 0 {
            return Err(PortError::Invalid(
                "PostgreSQL pool needs at least one connection".into(),
            ));
        }
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(PortError::Invalid(format!(
                "PostgreSQL URL {} should start with postgres:// (postgres://user@host:5432/db)",
                redact_url(url)
            )));
        }
        let connect = PgConnectOptions::from_str(url)
            .map_err(|e| {
                PortError::Invalid(format!(
                    "PostgreSQL URL {} is not valid: {e}",
                    redact_url(url)
                ))
            })?
            .application_name("eportal")
            .options([(
                "statement_timeout",
                format!("{}ms", opts.statement_timeout.as_millis()),
            )]);
        let pool = PgPoolOptions::new()
            .max_connections(opts.max_connections)
            .acquire_timeout(opts.acquire_timeout)
            .connect_with(connect)
            .await
            .map_err(|e| unreachable(&e))?;
        let relay_id: String = sqlx::query_scalar("SELECT gen_random_uuid()::text")
            .fetch_one(&pool)
            .await
            .map_err(|e| unreachable(&e))?;
        Ok(PgStore {
            pool,
            outbox_claim_ms: i64::try_from(opts.outbox_claim.as_millis()).unwrap_or(i64::MAX),
            order: opts.order,
            relay_id: relay_id.into(),
            stats: Arc::default(),
        })
    }

    /// Notes rows written to a table that grows (see `stats.rs`).
    pub(crate) fn wrote(&self, table: stats::Hot, rows: u64) {
        self.stats.wrote(&self.pool, table, rows);
    }

    /// Brings the schema up to date. Safe to run from several processes at once: the
    /// migrator holds an advisory lock while it works.
    pub async fn migrate(&self) -> Result<(), PortError> {
        sqlx::migrate!("./migrations")
            .run(&self.pool)
            .await
            .map_err(|e| PortError::unavailable(ENGINE, format!("migration failed: {e}")))
    }

    /// The connection pool, for callers that need to run their own statements (tests).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

#[async_trait]
impl RecordStore for PgStore {
    async fn ping(&self) -> PortResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(error::db)
    }
}
