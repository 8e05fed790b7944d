//! The embedded durable job queue: rows of the `jobs` table in the store's own file, so a
//! job written with its sheet survives `kill -9` with it.
//!
//! `receive` leases a job atomically (one `UPDATE … RETURNING` that bumps the attempt and
//! sets a fresh random lease token); a lease that runs out makes the job receivable again.
//! `ack`, `retry` and `dead_letter` only act while the caller's lease token is still the
//! job's: a worker whose lease expired must never remove or reschedule a job that another
//! worker now holds, so it gets a Conflict instead.
//!
//! Which ready job `receive` takes is the queue's discipline ([`QueueOrder`]), decided inside
//! that one statement over every waiting job, so it holds with any number of workers in any
//! number of processes (SQLite runs one write at a time). Round-robin also records, in the
//! same transaction, that the job's department has had its turn (`job_turns`).

use crate::error::db;
use crate::rows::get;
use async_trait::async_trait;
use eportal_core::discipline::{Discipline, QueueOrder, UNKNOWN_ROWS};
use eportal_core::jobs::Envelope;
use eportal_ports::error::PortResult;
use eportal_ports::{now_ms, Delivery, JobQueue, PortError, QueueStats};
use sqlx::{SqliteConnection, SqlitePool};
use std::time::Duration;

/// A handle on one namespace (`queue` column) of the `jobs` table.
#[derive(Clone)]
pub struct SqliteQueue {
    write: SqlitePool,
    read: SqlitePool,
    namespace: String,
    order: QueueOrder,
}

impl std::fmt::Debug for SqliteQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteQueue")
            .field("namespace", &self.namespace)
            .field("discipline", &self.order.discipline)
            .finish()
    }
}

/// Adds a ready job, with its size and department for the disciplines; used by `publish` and
/// by `submit_sheet` inside its own transaction.
pub(crate) async fn insert_job(
    conn: &mut SqliteConnection,
    namespace: &str,
    envelope: &Envelope,
    now: i64,
) -> PortResult<()> {
    sqlx::query(
        "INSERT INTO jobs (queue, payload, state, attempt, available_at_ms, created_at_ms, \
         updated_at_ms, rows_hint, class_key, background) \
         VALUES (?1, ?2, 'ready', 0, ?3, ?3, ?3, ?4, ?5, ?6)",
    )
    .bind(namespace)
    .bind(envelope.to_json())
    .bind(now)
    .bind(envelope.meta.rows.map(i64::from))
    .bind(envelope.meta.sort_class())
    .bind(envelope.meta.background)
    .execute(&mut *conn)
    .await
    .map(|_| ())
    .map_err(db)
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 4)
}

impl SqliteQueue {
    pub(crate) fn new(write: SqlitePool, read: SqlitePool, namespace: &str) -> Self {
        SqliteQueue {
            write,
            read,
            namespace: namespace.to_string(),
            order: QueueOrder::default(),
        }
    }

    /// The same queue, taking jobs in `order` (FIFO unless told otherwise).
    pub fn with_order(mut self, order: QueueOrder) -> Self {
        self.order = order;
        self
    }

    pub fn order(&self) -> QueueOrder {
        self.order
    }

    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    fn parse_tag(tag: &str) -> PortResult<(i64, &str)> {
        tag.split_once(':')
            .and_then(|(id, token)| Some((id.parse().ok()?, token)))
            .ok_or_else(|| PortError::Invalid(format!("'{tag}' is not a delivery of this queue")))
    }

    /// Runs a lease-guarded statement (bound: ?1 id, ?2 namespace, ?3 token, then `more`);
    /// Conflict if it touched nothing because the lease was lost.
    async fn settle(
        &self,
        d: &Delivery,
        sql: &str,
        more: impl FnOnce(SqliteQuery<'_>) -> SqliteQuery<'_>,
    ) -> PortResult<()> {
        let (id, token) = Self::parse_tag(&d.tag)?;
        let q = sqlx::query(sql).bind(id).bind(&self.namespace).bind(token);
        let done = more(q).execute(&self.write).await.map_err(db)?;
        if done.rows_affected() == 0 {
            return Err(PortError::Conflict(format!(
                "job {id} is no longer leased to this worker (its lease ran out)"
            )));
        }
        Ok(())
    }
}

/// The `ORDER BY` of a discipline over candidate jobs (bound: ?4 the time before which a job
/// counts as aged, ?5 the size of a job of unknown size). Ties go to the oldest job. Under
/// every discipline but FIFO a young background job goes after the rest.
fn order_by(discipline: Discipline) -> &'static str {
    match discipline {
        Discipline::Fifo => "id",
        Discipline::Lifo => {
            "(created_at_ms <= ?4) DESC, (background AND created_at_ms > ?4), \
             CASE WHEN created_at_ms <= ?4 THEN id ELSE -id END"
        }
        Discipline::Sjf => {
            "(created_at_ms <= ?4) DESC, (background AND created_at_ms > ?4), \
             CASE WHEN created_at_ms <= ?4 THEN 0 ELSE COALESCE(rows_hint, ?5) END, id"
        }
        // Only a background job ages here: an aged one first, a young one last.
        Discipline::RoundRobin => {
            "(background AND created_at_ms <= ?4) DESC, background, \
             COALESCE((SELECT turn FROM job_turns t \
               WHERE t.queue = jobs.queue AND t.class_key = jobs.class_key), 0), id"
        }
    }
}

/// Records that `class` was just served: its turn becomes the newest of the queue's.
async fn take_turn(conn: &mut SqliteConnection, namespace: &str, class: &str) -> PortResult<()> {
    sqlx::query(
        "INSERT INTO job_turns (queue, class_key, turn) VALUES (?1, ?2, \
           (SELECT COALESCE(MAX(turn), 0) + 1 FROM job_turns WHERE queue = ?1)) \
         ON CONFLICT (queue, class_key) DO UPDATE SET turn = excluded.turn",
    )
    .bind(namespace)
    .bind(class)
    .execute(&mut *conn)
    .await
    .map(|_| ())
    .map_err(db)
}

type SqliteQuery<'q> = sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>>;

#[async_trait]
impl JobQueue for SqliteQueue {
    async fn publish(&self, envelope: &Envelope) -> PortResult<()> {
        let mut conn = self.write.acquire().await.map_err(db)?;
        insert_job(&mut conn, &self.namespace, envelope, now_ms()).await
    }

    async fn receive(&self, lease: Duration) -> PortResult<Option<Delivery>> {
        let round_robin = self.order.discipline == Discipline::RoundRobin;
        loop {
            let now = now_ms();
            let aged_since =
                now.saturating_sub(i64::try_from(self.order.max_wait_ms).unwrap_or(i64::MAX));
            let sql = format!(
                "UPDATE jobs SET state = 'leased', attempt = attempt + 1, \
                 lease_token = lower(hex(randomblob(16))), lease_until_ms = ?2 + ?3, \
                 updated_at_ms = ?2 \
                 WHERE id = (SELECT id FROM jobs WHERE queue = ?1 AND \
                   ((state = 'ready' AND available_at_ms <= ?2) \
                    OR (state = 'leased' AND lease_until_ms <= ?2)) \
                   ORDER BY {} LIMIT 1) \
                 RETURNING id, payload, attempt, lease_token, class_key",
                order_by(self.order.discipline)
            );
            let mut tx = self.write.begin().await.map_err(db)?;
            let row = sqlx::query(&sql)
                .bind(&self.namespace)
                .bind(now)
                .bind(millis(lease))
                .bind(aged_since)
                .bind(i64::from(UNKNOWN_ROWS))
                .fetch_optional(&mut *tx)
                .await
                .map_err(db)?;
            if let (Some(row), true) = (&row, round_robin) {
                take_turn(&mut tx, &self.namespace, &get::<String>(row, "class_key")?).await?;
            }
            tx.commit().await.map_err(db)?;
            let Some(row) = row else { return Ok(None) };
            let id: i64 = get(&row, "id")?;
            let token: String = get(&row, "lease_token")?;
            let attempt: i64 = get(&row, "attempt")?;
            match Envelope::from_json(&get::<String>(&row, "payload")?) {
                Ok(envelope) => {
                    return Ok(Some(Delivery {
                        tag: format!("{id}:{token}"),
                        envelope,
                        attempt: u32::try_from(attempt).unwrap_or(u32::MAX),
                    }))
                }
                Err(why) => {
                    // No worker can ever handle it: park it with the reason, take the next.
                    tracing::warn!(job = id, error = %why, "dead-lettering an unreadable job");
                    sqlx::query(
                        "UPDATE jobs SET state = 'dead', last_error = ?2, lease_token = NULL, \
                         lease_until_ms = NULL, updated_at_ms = ?3 WHERE id = ?1",
                    )
                    .bind(id)
                    .bind(why)
                    .bind(now)
                    .execute(&self.write)
                    .await
                    .map_err(db)?;
                }
            }
        }
    }

    async fn ack(&self, d: &Delivery) -> PortResult<()> {
        self.settle(
            d,
            "DELETE FROM jobs WHERE id = ?1 AND queue = ?2 AND lease_token = ?3 \
             AND state = 'leased'",
            |q| q,
        )
        .await
    }

    async fn retry(&self, d: &Delivery, delay: Duration, error: &str) -> PortResult<()> {
        let now = now_ms();
        self.settle(
            d,
            "UPDATE jobs SET state = 'ready', available_at_ms = ?4, last_error = ?5, \
             lease_token = NULL, lease_until_ms = NULL, updated_at_ms = ?6 \
             WHERE id = ?1 AND queue = ?2 AND lease_token = ?3 AND state = 'leased'",
            |q| {
                q.bind(now.saturating_add(millis(delay)))
                    .bind(error.to_string())
                    .bind(now)
            },
        )
        .await
    }

    async fn dead_letter(&self, d: &Delivery, error: &str) -> PortResult<()> {
        self.settle(
            d,
            "UPDATE jobs SET state = 'dead', last_error = ?4, lease_token = NULL, \
             lease_until_ms = NULL, updated_at_ms = ?5 \
             WHERE id = ?1 AND queue = ?2 AND lease_token = ?3 AND state = 'leased'",
            |q| q.bind(error.to_string()).bind(now_ms()),
        )
        .await
    }

    async fn stats(&self) -> PortResult<QueueStats> {
        let row = sqlx::query(
            "SELECT \
               COALESCE(SUM((state = 'ready' AND available_at_ms <= ?2) \
                         OR (state = 'leased' AND lease_until_ms <= ?2)), 0) AS ready, \
               COALESCE(SUM(state = 'leased' AND lease_until_ms > ?2), 0) AS in_flight, \
               COALESCE(SUM(state = 'ready' AND available_at_ms > ?2), 0) AS delayed, \
               COALESCE(SUM(state = 'dead'), 0) AS dead \
             FROM jobs WHERE queue = ?1",
        )
        .bind(&self.namespace)
        .bind(now_ms())
        .fetch_one(&self.read)
        .await
        .map_err(db)?;
        let n = |c: &str| get::<i64>(&row, c).map(|v| v.max(0) as u64);
        Ok(QueueStats {
            ready: n("ready")?,
            in_flight: n("in_flight")?,
            delayed: n("delayed")?,
            dead: n("dead")?,
        })
    }
}
