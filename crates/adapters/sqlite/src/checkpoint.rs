//! Checkpoints off the writer's path. At a checkpoint SQLite copies the write-ahead log into
//! the database file. By default the connection whose commit takes the log past
//! `wal_autocheckpoint` pages does it, inside that commit: here that is the one writer, so an
//! upload waited for it (a 2,000-row sheet's commit took 2.4 ms at the median and 6.2 ms on
//! average, the difference being checkpoints; without them a semester's ingest ran 9% faster).
//!
//! A connection of its own copies what is committed every [`EVERY`] instead, as a `PASSIVE`
//! checkpoint, which neither waits for nor holds up the writer or a reader. The writer still
//! checkpoints itself past [`WRITER_PAGES`], should this one fall behind or fail, so the log
//! stays bounded. It stops when the store is closed or its last clone dropped, and must never
//! write anything but a checkpoint.

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::ConnectOptions;
use std::time::Duration;
use tokio::sync::watch;

/// How often committed pages are copied into the database file.
pub(crate) const EVERY: Duration = Duration::from_millis(250);

/// Log pages past which the writer checkpoints itself (about 80 MB of 16 KiB pages).
pub(crate) const WRITER_PAGES: &str = "5000";

/// The background checkpointer; stops when told or when every handle is dropped.
#[derive(Debug)]
pub(crate) struct Checkpointer {
    stop: watch::Sender<bool>,
}

impl Checkpointer {
    /// Opens the checkpointer's connection and starts it.
    pub(crate) async fn start(opts: &SqliteConnectOptions) -> Result<Checkpointer, sqlx::Error> {
        let mut conn = opts.connect().await?;
        let (stop, mut stopped) = watch::channel(false);
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(EVERY) => {}
                    changed = stopped.changed() => {
                        if changed.is_err() || *stopped.borrow() {
                            break;
                        }
                    }
                }
                if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                    .execute(&mut conn)
                    .await
                {
                    tracing::warn!(error = %e, "background checkpoint failed; the writer checkpoints itself");
                }
            }
            let _ = sqlx::Connection::close(conn).await;
        });
        Ok(Checkpointer { stop })
    }

    /// Stops the checkpointer once its current checkpoint, if any, is done.
    pub(crate) fn stop(&self) {
        let _ = self.stop.send(true);
    }
}
