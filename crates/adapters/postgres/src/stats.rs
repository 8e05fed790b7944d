//! Table statistics kept fresh by the store itself.
//!
//! PostgreSQL plans every statement from its table statistics, which only `ANALYZE` refreshes
//! (autovacuum runs it at most once a naptime, a minute by default, and not at all where it
//! is off). A table that grows from empty to hundreds of thousands of rows within minutes — a
//! first import, a semester's ingest — is planned meanwhile as if it were still empty:
//! sequential scans inside nested loops, so every sheet costs more than the one before. The
//! store therefore counts the rows it writes to each table that grows with the records, and
//! once they reach half of what the table had at its last analysis (at least
//! [`MIN_ROWS`]), analyses it in the background, one `ANALYZE` at a time. It must never hold
//! up the write that crossed the mark.

use sqlx::PgPool;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

/// Rows written to a table before it is analysed again, however small it was.
pub(crate) const MIN_ROWS: u64 = 5_000;

/// The tables that grow with the records.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Hot {
    Students,
    Registrations,
    CurrentScores,
    ScoreVersions,
    SemesterResults,
    Ledger,
}

const TABLES: [(Hot, &str); 6] = [
    (Hot::Students, "students"),
    (Hot::Registrations, "registrations"),
    (Hot::CurrentScores, "current_scores"),
    (Hot::ScoreVersions, "score_versions"),
    (Hot::SemesterResults, "semester_results"),
    (Hot::Ledger, "ledger"),
];

#[derive(Debug, Default)]
struct Counter {
    /// Rows written since the last analysis.
    written: AtomicU64,
    /// Rows the table had at the last analysis (as far as this process knows).
    at_last: AtomicU64,
}

/// Write counts per hot table, shared by the clones of one store.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    counters: [Counter; 6],
    analysing: AtomicBool,
}

impl Stats {
    /// Notes an applied sheet that set the scores of `students`: their current scores,
    /// versions, semester results and ledger entries.
    pub(crate) fn wrote_scores(self: &Arc<Self>, pool: &PgPool, students: u64) {
        for table in [
            Hot::CurrentScores,
            Hot::ScoreVersions,
            Hot::SemesterResults,
            Hot::Ledger,
        ] {
            self.wrote(pool, table, students);
        }
    }

    /// Notes `rows` written to `table`; analyses it in the background when they are due.
    pub(crate) fn wrote(self: &Arc<Self>, pool: &PgPool, table: Hot, rows: u64) {
        let i = table as usize;
        let c = &self.counters[i];
        let written = c.written.fetch_add(rows, Ordering::Relaxed) + rows;
        let due = MIN_ROWS.max(c.at_last.load(Ordering::Relaxed) / 2);
        if written < due || self.analysing.swap(true, Ordering::AcqRel) {
            return;
        }
        let (stats, pool, name) = (self.clone(), pool.clone(), TABLES[i].1);
        tokio::spawn(async move {
            let c = &stats.counters[i];
            let before = c.written.swap(0, Ordering::Relaxed);
            // The table's name is one of the constants above, never input.
            match sqlx::query(&format!("ANALYZE {name}")).execute(&pool).await {
                Ok(_) => {
                    let rows: Option<f32> =
                        sqlx::query_scalar("SELECT reltuples FROM pg_class WHERE relname = $1")
                            .bind(name)
                            .fetch_optional(&pool)
                            .await
                            .ok()
                            .flatten();
                    let rows = rows.map_or(0, |r| r.max(0.0) as u64);
                    c.at_last.store(rows, Ordering::Relaxed);
                    tracing::debug!(table = name, rows, "table statistics refreshed");
                }
                Err(e) => {
                    // Counted again, so the next write tries again.
                    c.written.fetch_add(before, Ordering::Relaxed);
                    tracing::warn!(table = name, error = %e, "could not refresh table statistics");
                }
            }
            stats.analysing.store(false, Ordering::Release);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tables_are_listed_in_their_order() {
        for (i, (hot, _)) in TABLES.iter().enumerate() {
            assert_eq!(*hot as usize, i);
        }
    }
}
