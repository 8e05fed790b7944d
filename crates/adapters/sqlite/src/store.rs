//! Opening the database: file creation, pragmas, the writer/reader pools and the background
//! checkpointer, migrations.
//! Every durable-write setting lives here (WAL + synchronous=NORMAL survives a process
//! crash; foreign keys on), so no other module may open connections of its own.

use crate::checkpoint::{self, Checkpointer};
use crate::error::{db, ENGINE};
use crate::queue::SqliteQueue;
use eportal_ports::error::PortResult;
use eportal_ports::{PortError, RecordStore};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Sqlite, Transaction};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

/// The queue namespace that submitted sheets' jobs are written to.
pub const DEFAULT_QUEUE: &str = "jobs";

const READERS: u32 = 8;
const PAGE_SIZE: u32 = 16_384;
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub struct SqliteStore {
    /// Exactly one connection: every write transaction queues here.
    pub(crate) write: SqlitePool,
    pub(crate) read: SqlitePool,
    checkpointer: Arc<Checkpointer>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating if missing) the database at a path or a `sqlite:` URL.
    pub async fn connect(url_or_path: &str) -> PortResult<SqliteStore> {
        if url_or_path.contains(":memory:") || url_or_path.contains("mode=memory") {
            // The writer and reader pools would each get a private, empty database.
            return Err(PortError::Invalid(format!(
                "'{url_or_path}' is an in-memory database; the store needs a file path"
            )));
        }
        let base = if url_or_path.starts_with("sqlite:") {
            SqliteConnectOptions::from_str(url_or_path).map_err(|e| {
                PortError::Invalid(format!("'{url_or_path}' is not a SQLite URL: {e}"))
            })?
        } else {
            if url_or_path.trim().is_empty() {
                return Err(PortError::Invalid(
                    "the SQLite database path is empty".into(),
                ));
            }
            // A fresh deployment names a file in a directory that may not exist yet.
            if let Some(dir) = std::path::Path::new(url_or_path).parent() {
                if !dir.as_os_str().is_empty() {
                    std::fs::create_dir_all(dir).map_err(|e| {
                        PortError::unavailable(
                            ENGINE,
                            format!("cannot create the directory of '{url_or_path}': {e}"),
                        )
                    })?;
                }
            }
            SqliteConnectOptions::new().filename(url_or_path)
        };
        let opts = base
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            // A new database's pages are 16 KiB, not SQLite's 4 KiB: a sheet's rows land in
            // a quarter as many pages of every table and index it writes, and its commit
            // writes fewer, larger pages to the log (a semester's ingest, measured: 80,271 ->
            // 89,855 rows/s). An existing database keeps its size (WAL cannot change it).
            .page_size(PAGE_SIZE)
            .busy_timeout(BUSY_TIMEOUT);
        let open_err = |e: sqlx::Error| {
            PortError::unavailable(ENGINE, format!("cannot open '{url_or_path}': {e}"))
        };
        let write = SqlitePoolOptions::new()
            .min_connections(1)
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            // The writer walks every index a sheet's writes touch: a page cache of 64 MiB
            // (SQLite's default is 2 MiB) keeps a semester's indexes in memory. It leaves
            // checkpoints to the checkpointer, up to a bound.
            .connect_with(
                opts.clone()
                    .pragma("cache_size", "-65536")
                    .pragma("wal_autocheckpoint", checkpoint::WRITER_PAGES),
            )
            .await
            .map_err(open_err)?;
        let checkpointer = Arc::new(Checkpointer::start(&opts).await.map_err(open_err)?);
        let read = SqlitePoolOptions::new()
            .max_connections(READERS)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(opts.pragma("query_only", "ON"))
            .await
            .map_err(open_err)?;
        Ok(SqliteStore {
            write,
            read,
            checkpointer,
        })
    }

    /// Brings the schema up to date; running it again on a current database does nothing.
    ///
    /// Migrations run with foreign keys off, as SQLite's own procedure for changing a table's
    /// constraints requires (the table is rebuilt and renamed into place, and the other
    /// tables' references must keep naming it); every reference is checked once they are done.
    pub async fn migrate(&self) -> PortResult<()> {
        let failed = |e: &dyn std::fmt::Display| {
            PortError::unavailable(ENGINE, format!("migration failed: {e}"))
        };
        let mut conn = self.write.acquire().await.map_err(|e| failed(&e))?;
        sqlx::query("PRAGMA foreign_keys = OFF")
            .execute(&mut *conn)
            .await
            .map_err(|e| failed(&e))?;
        let ran = sqlx::migrate!("./migrations").run_direct(&mut *conn).await;
        sqlx::query("PRAGMA foreign_keys = ON")
            .execute(&mut *conn)
            .await
            .map_err(|e| failed(&e))?;
        ran.map_err(|e| failed(&e))?;
        let broken: Vec<(String, Option<i64>)> =
            sqlx::query_as("SELECT \"table\", rowid FROM pragma_foreign_key_check")
                .fetch_all(&mut *conn)
                .await
                .map_err(|e| failed(&e))?;
        match broken.first() {
            None => Ok(()),
            Some((table, rowid)) => Err(failed(&format!(
                "{} rows refer to rows that do not exist (the first in table {table}{})",
                broken.len(),
                rowid.map(|r| format!(", row {r}")).unwrap_or_default()
            ))),
        }
    }

    /// The job queue of the default namespace, which [`eportal_ports::Sheets::submit_sheet`]
    /// writes to.
    pub fn queue(&self) -> SqliteQueue {
        self.queue_named(DEFAULT_QUEUE)
    }

    /// A job queue on another namespace of the same `jobs` table.
    pub fn queue_named(&self, namespace: &str) -> SqliteQueue {
        SqliteQueue::new(self.write.clone(), self.read.clone(), namespace)
    }

    /// A write transaction that takes the write lock up front, so a transaction that reads
    /// before it writes never fails when another process wrote in between.
    pub(crate) async fn begin(&self) -> PortResult<Transaction<'static, Sqlite>> {
        self.write.begin_with("BEGIN IMMEDIATE").await.map_err(db)
    }

    /// Closes both pools (checkpointing the WAL) and stops the checkpointer.
    pub async fn close(&self) {
        self.checkpointer.stop();
        self.read.close().await;
        self.write.close().await;
    }
}

#[async_trait::async_trait]
impl RecordStore for SqliteStore {
    async fn ping(&self) -> PortResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.read)
            .await
            .map(|_| ())
            .map_err(db)
    }
}
