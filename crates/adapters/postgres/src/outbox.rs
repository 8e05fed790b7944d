//! The transactional outbox: jobs written in the same transaction as the change that caused
//! them, then handed to the job queue by a relay. Any number of relays (one per portal
//! process, that is one per [`PgStore`] and its clones) may run: each claims rows with
//! `FOR UPDATE SKIP LOCKED` for a limited time, so two relays never hold the same row at
//! once, and a relay that dies lets its claim lapse. A relay asking again gets back its own
//! claimed rows that it has not yet marked done (it is retrying them).
//!
//! Must never hand out a row while another relay's claim on it is live, and never lose a
//! row a relay has not confirmed with `outbox_done`. Delivery is therefore at least once.
//!
//! Under a queue discipline other than FIFO the order of release is the discipline: then one
//! relay at a time holds the relay lease (`outbox_relay_lease`, renewed on each call, lapsing
//! like a claim when its holder dies) and hands rows out in discipline order, chosen over
//! every unreleased row (`ordered.rs`). The relay releases only a small window of them to
//! the broker at a time, so the broker's own FIFO order matters only within that window.

use crate::convert::get;
use crate::error::db;
use crate::PgStore;
use eportal_core::discipline::Discipline;
use eportal_core::jobs::Envelope;
use eportal_ports::error::PortResult;
use eportal_ports::{now_ms, PortError};
use sqlx::PgConnection;

/// The server's clock in unix milliseconds. Claims are judged by one clock (the database's),
/// so relays on machines whose clocks disagree still agree on which claims have lapsed.
pub(crate) const DB_NOW_MS: &str = "(extract(epoch FROM clock_timestamp()) * 1000)::bigint";

/// Writes a job into the outbox inside the caller's transaction, with the size and class its
/// envelope carries for the disciplines.
pub(crate) async fn enqueue(conn: &mut PgConnection, envelope: &Envelope) -> PortResult<i64> {
    sqlx::query_scalar(
        "INSERT INTO outbox (envelope, created_at_ms, rows_hint, class_key, background) \
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(envelope.to_json())
    .bind(now_ms())
    .bind(envelope.meta.rows.map(i64::from))
    .bind(envelope.meta.sort_class())
    .bind(envelope.meta.background)
    .fetch_one(conn)
    .await
    .map_err(db)
}

/// The department of a course (the class round-robin serves in turn).
pub(crate) async fn department_of(
    conn: &mut PgConnection,
    course_code: &str,
) -> PortResult<Option<String>> {
    sqlx::query_scalar("SELECT department_code FROM courses WHERE code = $1")
        .bind(course_code)
        .fetch_optional(conn)
        .await
        .map_err(db)
}

/// Reads an outbox row's id and envelope.
pub(crate) fn entry(r: &sqlx::postgres::PgRow) -> PortResult<(i64, Envelope)> {
    let id: i64 = get(r, "id")?;
    let json: String = get(r, "envelope")?;
    let env = Envelope::from_json(&json)
        .map_err(|e| PortError::Invalid(format!("outbox entry {id}: {e}")))?;
    Ok((id, env))
}

impl PgStore {
    pub(crate) async fn claim_outbox(&self, limit: u32) -> PortResult<Vec<(i64, Envelope)>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        if self.order.discipline != Discipline::Fifo {
            return self.claim_ordered(limit).await;
        }
        // SKIP LOCKED: rows another relay is claiming right now are passed over rather than
        // waited for. A row claimed and committed by another relay after this statement's
        // snapshot is re-checked under its lock, so its fresh claim excludes it.
        let sql = format!(
            "WITH now AS (SELECT {DB_NOW_MS} AS ms) \
             UPDATE outbox SET claimed_by = $3, claimed_until_ms = (SELECT ms FROM now) + $2 \
             WHERE id IN ( \
                 SELECT id FROM outbox \
                 WHERE published_at_ms IS NULL \
                   AND (claimed_until_ms IS NULL OR claimed_until_ms < (SELECT ms FROM now) \
                        OR claimed_by = $3) \
                 ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED) \
             RETURNING id, envelope"
        );
        let rows = sqlx::query(&sql)
            .bind(i64::from(limit))
            .bind(self.outbox_claim_ms)
            .bind(self.relay_id.as_ref())
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        let mut jobs = rows.iter().map(entry).collect::<PortResult<Vec<_>>>()?;
        jobs.sort_by_key(|(id, _)| *id);
        Ok(jobs)
    }

    pub(crate) async fn finish_outbox(&self, ids: &[i64]) -> PortResult<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let sql = format!(
            "UPDATE outbox SET published_at_ms = {DB_NOW_MS}, claimed_until_ms = NULL \
             WHERE id = ANY($1::int8[]) AND published_at_ms IS NULL"
        );
        sqlx::query(&sql)
            .bind(ids)
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(db)
    }
}
