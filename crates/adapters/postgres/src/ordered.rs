//! Handing outbox rows out in the order of a queue discipline (LIFO, SJF with ageing, or
//! round-robin across departments), for a relay that releases them to the broker a few at a
//! time. The choice is made here, in PostgreSQL, where every unreleased job is visible.
//!
//! One relay at a time: the caller must hold the relay lease, taken (or renewed) in the same
//! transaction as the claim, so two portals never release from two views of the outbox at
//! once. A caller that does not hold it gets nothing and tries again later; a lease whose
//! holder died lapses after the claim time, and another portal takes over.
//!
//! Round-robin: within one call, the first waiting job of every department comes before the
//! second of any, departments in the order they were last served (never served: first);
//! the departments' turns are then recorded in `outbox_turns`, in the same transaction.

use crate::error::db;
use crate::outbox::{entry, DB_NOW_MS};
use crate::PgStore;
use eportal_core::discipline::{Discipline, UNKNOWN_ROWS};
use eportal_core::jobs::Envelope;
use eportal_ports::error::PortResult;
use sqlx::Row;

/// The candidates' `ORDER BY` of a discipline (`p.aged`: the time before which a job counts
/// as aged; `p.unknown`: the size of a job of unknown size). A young background job goes
/// after the rest.
fn order_by(discipline: Discipline) -> &'static str {
    match discipline {
        Discipline::Fifo => "o.id",
        Discipline::Lifo => {
            "(o.created_at_ms <= p.aged) DESC, (o.background AND o.created_at_ms > p.aged), \
             CASE WHEN o.created_at_ms <= p.aged THEN o.id ELSE -o.id END"
        }
        Discipline::Sjf => {
            "(o.created_at_ms <= p.aged) DESC, (o.background AND o.created_at_ms > p.aged), \
             CASE WHEN o.created_at_ms <= p.aged THEN 0 ELSE COALESCE(o.rows_hint, p.unknown) END, \
             o.id"
        }
        // Only a background job ages here: an aged one first, a young one last. A class's
        // places are counted apart from its background jobs, which go last anyway.
        Discipline::RoundRobin => {
            "(o.background AND o.created_at_ms <= p.aged) DESC, o.background, \
             row_number() OVER (PARTITION BY o.class_key, o.background ORDER BY o.id), \
             COALESCE(t.turn, 0), min(o.id) OVER (PARTITION BY o.class_key, o.background), o.id"
        }
    }
}

impl PgStore {
    /// Claims up to `limit` unreleased rows in discipline order, if this store holds (or can
    /// take) the relay lease; else nothing.
    pub(crate) async fn claim_ordered(&self, limit: u32) -> PortResult<Vec<(i64, Envelope)>> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        let lease = format!(
            "UPDATE outbox_relay_lease SET holder = $1, until_ms = {DB_NOW_MS} + $2 \
             WHERE id = 1 AND (holder = $1 OR until_ms < {DB_NOW_MS}) RETURNING until_ms"
        );
        let held: Option<i64> = sqlx::query_scalar(&lease)
            .bind(self.relay_id.as_ref())
            .bind(self.outbox_claim_ms)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?;
        if held.is_none() {
            tx.rollback().await.map_err(db)?;
            return Ok(Vec::new());
        }
        let now: i64 = sqlx::query_scalar(&format!("SELECT {DB_NOW_MS}"))
            .fetch_one(&mut *tx)
            .await
            .map_err(db)?;
        let max_wait = i64::try_from(self.order.max_wait_ms).unwrap_or(i64::MAX);
        // Rows another relay claimed under an earlier lease stay its own until they lapse.
        let pick = format!(
            "SELECT o.id, o.envelope, o.class_key FROM outbox o \
             CROSS JOIN (SELECT $2::bigint AS aged, $3::bigint AS unknown) p \
             LEFT JOIN outbox_turns t ON t.class_key = o.class_key \
             WHERE o.published_at_ms IS NULL \
               AND (o.claimed_until_ms IS NULL OR o.claimed_until_ms < $4 OR o.claimed_by = $5) \
             ORDER BY {} LIMIT $1",
            order_by(self.order.discipline)
        );
        let rows = sqlx::query(&pick)
            .bind(i64::from(limit))
            .bind(now.saturating_sub(max_wait))
            .bind(i64::from(UNKNOWN_ROWS))
            .bind(now)
            .bind(self.relay_id.as_ref())
            .fetch_all(&mut *tx)
            .await
            .map_err(db)?;
        let jobs = rows.iter().map(entry).collect::<PortResult<Vec<_>>>()?;
        let ids: Vec<i64> = jobs.iter().map(|(id, _)| *id).collect();
        sqlx::query(
            "UPDATE outbox SET claimed_by = $2, claimed_until_ms = $3 + $4 \
             WHERE id = ANY($1::int8[])",
        )
        .bind(&ids)
        .bind(self.relay_id.as_ref())
        .bind(now)
        .bind(self.outbox_claim_ms)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        if self.order.discipline == Discipline::RoundRobin {
            let classes = rows
                .iter()
                .map(|r| r.try_get::<String, _>("class_key"))
                .collect::<Result<Vec<_>, _>>()
                .map_err(db)?;
            take_turns(&mut tx, &classes).await?;
        }
        tx.commit().await.map_err(db)?;
        Ok(jobs)
    }
}

/// Records the turns of the departments served, in order: each gets a turn newer than every
/// turn before, the department served last the newest.
async fn take_turns(conn: &mut sqlx::PgConnection, served: &[String]) -> PortResult<()> {
    let base: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(turn), 0) FROM outbox_turns")
        .fetch_one(&mut *conn)
        .await
        .map_err(db)?;
    // The last position of each class in `served`.
    let mut last: Vec<(&str, i64)> = Vec::new();
    for (i, class) in served.iter().enumerate() {
        let turn = base + 1 + i as i64;
        match last.iter_mut().find(|(c, _)| *c == class) {
            Some(entry) => entry.1 = turn,
            None => last.push((class, turn)),
        }
    }
    for (class, turn) in last {
        sqlx::query(
            "INSERT INTO outbox_turns (class_key, turn) VALUES ($1, $2) \
             ON CONFLICT (class_key) DO UPDATE SET turn = excluded.turn",
        )
        .bind(class)
        .bind(turn)
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    }
    Ok(())
}
