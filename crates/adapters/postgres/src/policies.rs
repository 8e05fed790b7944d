//! Grading policy books and their regrades in PostgreSQL: which book is active, storing a new
//! one with the regrade that will switch to it, and reading regrades and the records they
//! grade. The tasks' writes and the switch live in `regrade` and `switch`.
//!
//! The active book is the highest version with `activated_at_ms` set; only a regrade's
//! commit (or the first `put_institution`) sets it. Everything that grades under "the active
//! book" reads it in the transaction (or statement) that writes or reads the grades, so a
//! caller never mixes two books. Must never change a stored book.

use crate::convert::{self, get, record_select};
use crate::error::db;
use crate::{outbox, regrade, switch, PgStore};
use async_trait::async_trait;
use eportal_core::jobs::{Envelope, Job};
use eportal_core::model::{CourseRecord, CourseTerm, SemesterResult};
use eportal_core::regrade::RegradeRow;
use eportal_core::{MatricNo, PolicyBook};
use eportal_ports::error::PortResult;
use eportal_ports::{now_ms, Committed, Policies, PortError, Regrade, RegradeParts, RegradeStatus};
use sqlx::postgres::PgRow;
use sqlx::PgConnection;
use std::collections::BTreeSet;

/// The active version as one SQL expression (0 while no book is stored).
pub(crate) const ACTIVE_VERSION: &str =
    "SELECT COALESCE(max(version), 0) FROM policy_books WHERE activated_at_ms IS NOT NULL";

/// The active book's JSON as one SQL expression (no row while no book is stored).
pub(crate) const ACTIVE_BOOK: &str = "SELECT book FROM policy_books \
     WHERE activated_at_ms IS NOT NULL ORDER BY version DESC LIMIT 1";

/// More tasks than this in one phase is a mistake, not a plan: each is an outbox row.
const MAX_PARTS: u32 = 10_000;

/// Reads a stored book, refusing one that is not valid.
pub(crate) fn read_book(json: &str) -> PortResult<PolicyBook> {
    PolicyBook::from_json(json)
        .map_err(|e| PortError::Invalid(format!("stored policy book is not valid: {e}")))
}

fn version_of(v: i32) -> PortResult<u32> {
    convert::small("policy version", v)
}

/// The active version, read in the caller's transaction.
pub(crate) async fn active_version(conn: &mut PgConnection) -> PortResult<u32> {
    let v: i32 = sqlx::query_scalar(ACTIVE_VERSION)
        .fetch_one(&mut *conn)
        .await
        .map_err(db)?;
    version_of(v)
}

/// Holds off a regrade's switch until the caller's transaction ends, then tells whether
/// `book` is not the active one (with the active version). Any number of writers hold
/// `ROW EXCLUSIVE` at once; the switch's `SHARE ROW EXCLUSIVE` waits for them, and they for
/// it, so a writer either commits before the switch (which then grades its records again)
/// or reads the new version here. Must be the transaction's first lock.
pub(crate) async fn stale_book(
    conn: &mut PgConnection,
    book: &PolicyBook,
) -> PortResult<Option<u32>> {
    sqlx::query("LOCK TABLE current_scores IN ROW EXCLUSIVE MODE")
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    let active = active_version(conn).await?;
    Ok((active != book.version).then_some(active))
}

/// The stored book of `version`, read in the caller's transaction.
pub(crate) async fn book_in(
    conn: &mut PgConnection,
    version: u32,
) -> PortResult<Option<PolicyBook>> {
    let json: Option<String> =
        sqlx::query_scalar("SELECT book FROM policy_books WHERE version = $1")
            .bind(i64::from(version))
            .fetch_optional(&mut *conn)
            .await
            .map_err(db)?;
    json.map(|j| {
        let mut book = read_book(&j)?;
        book.version = version;
        Ok(book)
    })
    .transpose()
}

const REGRADE_COLUMNS: &str = "id, from_version, to_version, status, map_parts, reduce_parts, \
     maps_done, reduces_done, records, changed, students, started_by, started_at_ms, \
     finished_at_ms, message";

fn regrade_row(row: &PgRow) -> PortResult<Regrade> {
    let status: String = get(row, "status")?;
    let count = |col: &str| -> PortResult<u64> { convert::count(col, get(row, col)?) };
    let part = |col: &str| -> PortResult<u32> { convert::small(col, get(row, col)?) };
    Ok(Regrade {
        id: get(row, "id")?,
        from_version: version_of(get(row, "from_version")?)?,
        to_version: version_of(get(row, "to_version")?)?,
        status: RegradeStatus::parse(&status).ok_or_else(|| {
            PortError::Invalid(format!("stored regrade status '{status}' is not valid"))
        })?,
        parts: RegradeParts {
            map: part("map_parts")?,
            reduce: part("reduce_parts")?,
        },
        maps_done: part("maps_done")?,
        reduces_done: part("reduces_done")?,
        records: count("records")?,
        changed: count("changed")?,
        students: count("students")?,
        started_by: get(row, "started_by")?,
        started_at_ms: get(row, "started_at_ms")?,
        finished_at_ms: get(row, "finished_at_ms")?,
        message: get(row, "message")?,
    })
}

/// A regrade, its row locked until the caller's transaction ends: tasks finishing at once
/// count one after another.
pub(crate) async fn lock_regrade(conn: &mut PgConnection, id: i64) -> PortResult<Regrade> {
    regrade_locked(conn, id, "FOR UPDATE").await
}

/// The regrade under `FOR KEY SHARE`: its status cannot change (the switch and a failure
/// lock it `FOR UPDATE`) while tasks finishing at once still stage their output side by side;
/// they queue only for the counters' `UPDATE` at the end.
pub(crate) async fn share_regrade(conn: &mut PgConnection, id: i64) -> PortResult<Regrade> {
    regrade_locked(conn, id, "FOR KEY SHARE").await
}

async fn regrade_locked(conn: &mut PgConnection, id: i64, lock: &str) -> PortResult<Regrade> {
    let sql = format!("SELECT {REGRADE_COLUMNS} FROM regrades WHERE id = $1 {lock}");
    let row = sqlx::query(&sql)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db)?
        .ok_or_else(|| PortError::NotFound(format!("regrade {id}")))?;
    regrade_row(&row)
}

/// A row as `regrade_rows` and `reduce_rows` select it (the columns of [`CURRENT_ROWS`]).
pub(crate) fn graded_row(row: &PgRow) -> PortResult<RegradeRow> {
    Ok(RegradeRow {
        matric: convert::matric(&get::<String>(row, "matric_no")?)?,
        course: convert::course_code(&get::<String>(row, "course_code")?)?,
        session: convert::session(get(row, "session")?)?,
        semester: convert::semester(get(row, "semester")?)?,
        units: convert::small("course units", get(row, "units")?)?,
        total: convert::score(get(row, "total")?)?,
        score_version: convert::small("record version", get(row, "score_version")?)?,
        entry: convert::session(get(row, "entry_session")?)?,
        grade: get(row, "grade")?,
        points: convert::small("grade points", get(row, "points")?)?,
    })
}

/// Current records as a regrade reads them (table `v` is `current_scores`), with their
/// course's units and their student's entry session.
pub(crate) const CURRENT_ROWS: &str = "SELECT v.matric_no, v.course_code, v.session, \
     v.semester, c.units, v.total, v.version AS score_version, s.entry_session, v.grade, \
     v.points FROM current_scores v JOIN courses c ON c.code = v.course_code \
     JOIN students s ON s.matric_no = v.matric_no";

async fn has_scores(conn: &mut PgConnection) -> PortResult<bool> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM current_scores)")
        .fetch_one(&mut *conn)
        .await
        .map_err(db)
}

/// Writes one job per part (`job(part)`) into the outbox, in the caller's transaction.
pub(crate) async fn enqueue_parts(
    conn: &mut PgConnection,
    parts: u32,
    job: impl Fn(u32) -> Job,
) -> PortResult<()> {
    for part in 0..parts {
        // Regrade jobs carry no size or class: the disciplines see them as they are.
        outbox::enqueue(&mut *conn, &Envelope::new(job(part), None)).await?;
    }
    Ok(())
}

fn parts_i32(n: u32, what: &str) -> PortResult<i32> {
    if n == 0 || n > MAX_PARTS {
        return Err(PortError::Invalid(format!(
            "a regrade needs between 1 and {MAX_PARTS} {what} tasks, not {n}"
        )));
    }
    Ok(n as i32)
}

impl PgStore {
    async fn start(&self, book: &PolicyBook, parts: RegradeParts, by: &str) -> PortResult<Regrade> {
        book.validate()
            .map_err(|e| PortError::Invalid(e.to_string()))?;
        let (map, reduce) = (
            parts_i32(parts.map, "map")?,
            parts_i32(parts.reduce, "reduce")?,
        );
        let mut tx = self.pool.begin().await.map_err(db)?;
        // One start at a time: the second waits and then sees the first one's regrade.
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended('eportal/regrade', 0))")
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        let running: Option<(i64, i32)> = sqlx::query_as(
            "SELECT id, to_version FROM regrades WHERE status NOT IN ('done', 'failed') \
             ORDER BY id LIMIT 1",
        )
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?;
        if let Some((id, to)) = running {
            return Err(PortError::Conflict(format!(
                "regrade {id} to policy version {to} is still running; wait for it to finish"
            )));
        }
        let next: i32 =
            sqlx::query_scalar("SELECT COALESCE(max(version), 0) + 1 FROM policy_books")
                .fetch_one(&mut *tx)
                .await
                .map_err(db)?;
        let stored = PolicyBook {
            version: version_of(next)?,
            ..book.clone()
        };
        let now = now_ms();
        sqlx::query(
            "INSERT INTO policy_books (version, book, created_at_ms, created_by) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(next)
        .bind(stored.to_json())
        .bind(now)
        .bind(by)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        // Nothing to grade: switch now, checked again under the switch's lock (see
        // `stale_book`) so that no apply slips a score in under the old book meanwhile.
        let mut empty = !has_scores(&mut tx).await?;
        if empty {
            sqlx::query("LOCK TABLE current_scores IN SHARE ROW EXCLUSIVE MODE")
                .execute(&mut *tx)
                .await
                .map_err(db)?;
            empty = !has_scores(&mut tx).await?;
        }
        let from = active_version(&mut tx).await?;
        let sql = format!(
            "INSERT INTO regrades (from_version, to_version, status, map_parts, reduce_parts, \
             maps_done, reduces_done, started_by, started_at_ms, finished_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING {REGRADE_COLUMNS}"
        );
        let (status, done) = if empty {
            ("done", (map, reduce, Some(now)))
        } else {
            ("mapping", (0, 0, None))
        };
        let row = sqlx::query(&sql)
            .bind(i64::from(from))
            .bind(next)
            .bind(status)
            .bind(map)
            .bind(reduce)
            .bind(done.0)
            .bind(done.1)
            .bind(by)
            .bind(now)
            .bind(done.2)
            .fetch_one(&mut *tx)
            .await
            .map_err(db)?;
        let regrade = regrade_row(&row)?;
        if empty {
            sqlx::query("UPDATE policy_books SET activated_at_ms = $2 WHERE version = $1")
                .bind(next)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
        } else {
            let regrade_id = regrade.id;
            enqueue_parts(&mut tx, parts.map, |part| Job::RegradeMap {
                regrade_id,
                part,
            })
            .await?;
        }
        tx.commit().await.map_err(db)?;
        Ok(regrade)
    }
}

#[async_trait]
impl Policies for PgStore {
    async fn active_policy(&self) -> PortResult<Option<PolicyBook>> {
        let row: Option<(i32, String)> = sqlx::query_as(
            "SELECT version, book FROM policy_books WHERE activated_at_ms IS NOT NULL \
             ORDER BY version DESC LIMIT 1",
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        row.map(|(v, json)| {
            let mut book = read_book(&json)?;
            book.version = version_of(v)?;
            Ok(book)
        })
        .transpose()
    }

    async fn active_policy_version(&self) -> PortResult<u32> {
        let mut conn = self.pool.acquire().await.map_err(db)?;
        active_version(&mut conn).await
    }

    async fn graded_records(
        &self,
        matric: &MatricNo,
    ) -> PortResult<(Vec<CourseRecord>, Option<u32>)> {
        // One statement, one snapshot: the version is that of the book the grades are from.
        let sql = format!(
            "SELECT x.*, ({ACTIVE_VERSION}) AS policy_version \
             FROM ({} WHERE v.matric_no = $1) x ORDER BY x.session, x.semester, x.course_code",
            record_select("current_scores")
        );
        let rows = sqlx::query(&sql)
            .bind(matric.as_str())
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        let version = match rows.first() {
            Some(r) => Some(version_of(get(r, "policy_version")?)?),
            None => None,
        };
        let records = rows
            .iter()
            .map(convert::course_record)
            .collect::<PortResult<_>>()?;
        Ok((records, version))
    }

    async fn policy_book(&self, version: u32) -> PortResult<Option<PolicyBook>> {
        let mut conn = self.pool.acquire().await.map_err(db)?;
        book_in(&mut conn, version).await
    }

    async fn start_regrade(
        &self,
        book: &PolicyBook,
        parts: RegradeParts,
        started_by: &str,
    ) -> PortResult<Regrade> {
        self.start(book, parts, started_by).await
    }

    async fn regrade(&self, id: i64) -> PortResult<Option<Regrade>> {
        let sql = format!("SELECT {REGRADE_COLUMNS} FROM regrades WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?;
        row.as_ref().map(regrade_row).transpose()
    }

    async fn regrades(&self, limit: u32) -> PortResult<Vec<Regrade>> {
        let sql = format!("SELECT {REGRADE_COLUMNS} FROM regrades ORDER BY id DESC LIMIT $1");
        let rows = sqlx::query(&sql)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        rows.iter().map(regrade_row).collect()
    }

    async fn graded_terms(&self) -> PortResult<Vec<CourseTerm>> {
        let rows = sqlx::query(
            "SELECT DISTINCT course_code, session, semester FROM current_scores \
             ORDER BY course_code, session, semester",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.iter().map(convert::term).collect()
    }

    async fn regrade_rows(&self, terms: &[CourseTerm]) -> PortResult<Vec<RegradeRow>> {
        let terms: BTreeSet<(String, i32, i32)> = terms.iter().map(convert::term_key).collect();
        if terms.is_empty() {
            return Ok(Vec::new());
        }
        let code: Vec<&str> = terms.iter().map(|t| t.0.as_str()).collect();
        let session: Vec<i32> = terms.iter().map(|t| t.1).collect();
        let semester: Vec<i32> = terms.iter().map(|t| t.2).collect();
        let sql = format!(
            "{CURRENT_ROWS} JOIN UNNEST($1::text[], $2::int4[], $3::int4[]) AS t(code, ses, sem) \
             ON v.course_code = t.code AND v.session = t.ses AND v.semester = t.sem \
             ORDER BY v.course_code, v.session, v.semester, v.matric_no"
        );
        let rows = sqlx::query(&sql)
            .bind(code)
            .bind(session)
            .bind(semester)
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        rows.iter().map(graded_row).collect()
    }

    async fn finish_map(
        &self,
        regrade_id: i64,
        part: u32,
        rows: &[RegradeRow],
        changed: u64,
    ) -> PortResult<bool> {
        regrade::finish_map(self, regrade_id, part, rows, changed).await
    }

    async fn reduce_rows(&self, regrade_id: i64, part: u32) -> PortResult<Vec<RegradeRow>> {
        regrade::reduce_rows(self, regrade_id, part).await
    }

    async fn finish_reduce(
        &self,
        regrade_id: i64,
        part: u32,
        results: &[SemesterResult],
    ) -> PortResult<bool> {
        regrade::finish_reduce(self, regrade_id, part, results).await
    }

    async fn commit_regrade(&self, regrade_id: i64) -> PortResult<Committed> {
        switch::commit(self, regrade_id).await
    }

    async fn fail_regrade(&self, regrade_id: i64, message: &str) -> PortResult<()> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        let r = lock_regrade(&mut tx, regrade_id).await?;
        if r.status.is_final() {
            return Ok(());
        }
        sqlx::query(
            "UPDATE regrades SET status = 'failed', message = $2, finished_at_ms = $3 \
             WHERE id = $1",
        )
        .bind(regrade_id)
        .bind(message)
        .bind(now_ms())
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        // Its staged output will never be used: a failed regrade is not resumed.
        regrade::drop_staging(&mut tx, regrade_id).await?;
        tx.commit().await.map_err(db)
    }
}
