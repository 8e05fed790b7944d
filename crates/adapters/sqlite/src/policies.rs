//! Policy books and regrades: reading books, starting a regrade (the book, the regrade's
//! row and its map jobs in one transaction), and what people and workers read about it.
//! The tasks' writes and the switch are in [`crate::regrade`].

use crate::error::{corrupt, db};
use crate::rows::{course_code, get, record, semester, session, RECORD_COLUMNS, RECORD_JOINS};
use crate::{SqliteStore, DEFAULT_QUEUE};
use async_trait::async_trait;
use eportal_core::jobs::{Envelope, Job};
use eportal_core::model::{CourseRecord, CourseTerm, SemesterResult};
use eportal_core::regrade::RegradeRow;
use eportal_core::{MatricNo, PolicyBook};
use eportal_ports::error::PortResult;
use eportal_ports::{now_ms, Committed, Policies, PortError, Regrade, RegradeParts, RegradeStatus};
use sqlx::sqlite::SqliteRow;
use sqlx::{Executor, Sqlite, SqliteConnection};

/// The active book's version (0 while none is stored).
pub(crate) async fn active_version<'e, E: Executor<'e, Database = Sqlite>>(
    e: E,
) -> PortResult<u32> {
    let v: i64 = sqlx::query_scalar(
        "SELECT COALESCE(MAX(version), 0) FROM policy_books WHERE activated_at_ms IS NOT NULL",
    )
    .fetch_one(e)
    .await
    .map_err(db)?;
    Ok(v as u32)
}

/// The active book, if one is stored.
pub(crate) async fn active<'e, E: Executor<'e, Database = Sqlite>>(
    e: E,
) -> PortResult<Option<PolicyBook>> {
    let json: Option<String> = sqlx::query_scalar(
        "SELECT book FROM policy_books WHERE activated_at_ms IS NOT NULL \
         ORDER BY version DESC LIMIT 1",
    )
    .fetch_optional(e)
    .await
    .map_err(db)?;
    json.as_deref().map(parse_book).transpose()
}

/// A stored book by version.
pub(crate) async fn book<'e, E: Executor<'e, Database = Sqlite>>(
    e: E,
    version: u32,
) -> PortResult<Option<PolicyBook>> {
    let json: Option<String> =
        sqlx::query_scalar("SELECT book FROM policy_books WHERE version = ?1")
            .bind(i64::from(version))
            .fetch_optional(e)
            .await
            .map_err(db)?;
    json.as_deref().map(parse_book).transpose()
}

fn parse_book(json: &str) -> PortResult<PolicyBook> {
    PolicyBook::from_json(json).map_err(|e| corrupt("policy book", e))
}

const REGRADE_COLUMNS: &str = "id, from_version, to_version, status, map_parts, reduce_parts, \
     maps_done, reduces_done, records, changed, students, started_by, started_at_ms, \
     finished_at_ms, message";

fn regrade_of(r: &SqliteRow) -> PortResult<Regrade> {
    let n = |c: &str| get::<i64>(r, c).map(|v| v as u32);
    let status: String = get(r, "status")?;
    Ok(Regrade {
        id: get(r, "id")?,
        from_version: n("from_version")?,
        to_version: n("to_version")?,
        status: RegradeStatus::parse(&status).ok_or_else(|| corrupt("regrade status", &status))?,
        parts: RegradeParts {
            map: n("map_parts")?,
            reduce: n("reduce_parts")?,
        },
        maps_done: n("maps_done")?,
        reduces_done: n("reduces_done")?,
        records: get::<i64>(r, "records")? as u64,
        changed: get::<i64>(r, "changed")? as u64,
        students: get::<i64>(r, "students")? as u64,
        started_by: get(r, "started_by")?,
        started_at_ms: get(r, "started_at_ms")?,
        finished_at_ms: get(r, "finished_at_ms")?,
        message: get(r, "message")?,
    })
}

pub(crate) async fn regrade_in(
    conn: &mut SqliteConnection,
    id: i64,
) -> PortResult<Option<Regrade>> {
    let sql = format!("SELECT {REGRADE_COLUMNS} FROM regrades WHERE id = ?1");
    let row = sqlx::query(&sql)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db)?;
    row.as_ref().map(regrade_of).transpose()
}

/// Writes jobs to the embedded queue, in the caller's transaction.
pub(crate) async fn enqueue(conn: &mut SqliteConnection, jobs: Vec<Job>) -> PortResult<()> {
    let now = now_ms();
    for job in jobs {
        crate::queue::insert_job(&mut *conn, DEFAULT_QUEUE, &Envelope::new(job, None), now).await?;
    }
    Ok(())
}

pub(crate) fn semester_result_binds(r: &SemesterResult) -> [i64; 8] {
    [
        i64::from(r.session.start_year()),
        i64::from(r.semester.number()),
        i64::from(r.units),
        i64::from(r.weighted_points),
        i64::from(r.gpa.hundredths()),
        i64::from(r.cumulative_units),
        i64::from(r.cumulative_weighted_points),
        i64::from(r.cgpa.hundredths()),
    ]
}

#[async_trait]
impl Policies for SqliteStore {
    async fn active_policy(&self) -> PortResult<Option<PolicyBook>> {
        active(&self.read).await
    }

    async fn active_policy_version(&self) -> PortResult<u32> {
        active_version(&self.read).await
    }

    async fn graded_records(&self, m: &MatricNo) -> PortResult<(Vec<CourseRecord>, Option<u32>)> {
        // One statement: the records and the version share one snapshot.
        let sql = format!(
            "SELECT {RECORD_COLUMNS}, (SELECT COALESCE(MAX(version), 0) FROM policy_books \
             WHERE activated_at_ms IS NOT NULL) AS policy_version \
             FROM score_records r {RECORD_JOINS} \
             WHERE r.matric_no = ?1 ORDER BY r.session, r.semester, r.course_code"
        );
        let rows = sqlx::query(&sql)
            .bind(m.as_str())
            .fetch_all(&self.read)
            .await
            .map_err(db)?;
        let version = match rows.first() {
            Some(r) => Some(get::<i64>(r, "policy_version")? as u32),
            None => None,
        };
        Ok((rows.iter().map(record).collect::<PortResult<_>>()?, version))
    }

    async fn policy_book(&self, version: u32) -> PortResult<Option<PolicyBook>> {
        book(&self.read, version).await
    }

    async fn start_regrade(
        &self,
        book: &PolicyBook,
        parts: RegradeParts,
        started_by: &str,
    ) -> PortResult<Regrade> {
        book.validate()
            .map_err(|e| PortError::Invalid(e.to_string()))?;
        for (what, n) in [("map", parts.map), ("reduce", parts.reduce)] {
            if !(1..=10_000).contains(&n) {
                return Err(PortError::Invalid(format!(
                    "a regrade needs 1 to 10000 {what} tasks, not {n}"
                )));
            }
        }
        let mut tx = self.begin().await?;
        let running = sqlx::query_as::<_, (i64, i64)>(
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
        let from = active_version(&mut *tx).await?;
        let last: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) FROM policy_books")
            .fetch_one(&mut *tx)
            .await
            .map_err(db)?;
        let mut stored = book.clone();
        stored.version = last as u32 + 1;
        let now = now_ms();
        let no_scores: bool = sqlx::query_scalar("SELECT NOT EXISTS (SELECT 1 FROM score_records)")
            .fetch_one(&mut *tx)
            .await
            .map_err(db)?;
        sqlx::query(
            "INSERT INTO policy_books (version, book, created_at_ms, created_by, activated_at_ms) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .bind(i64::from(stored.version))
        .bind(stored.to_json())
        .bind(now)
        .bind(started_by)
        .bind(no_scores.then_some(now))
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        // Nothing to grade: the switch is immediate.
        let (status, done, finished) = if no_scores {
            ("done", 1, Some(now))
        } else {
            ("mapping", 0, None)
        };
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO regrades (from_version, to_version, status, map_parts, reduce_parts, \
             maps_done, reduces_done, started_by, started_at_ms, finished_at_ms) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?4 * ?6, ?5 * ?6, ?7, ?8, ?9) RETURNING id",
        )
        .bind(i64::from(from))
        .bind(i64::from(stored.version))
        .bind(status)
        .bind(i64::from(parts.map))
        .bind(i64::from(parts.reduce))
        .bind(done)
        .bind(started_by)
        .bind(now)
        .bind(finished)
        .fetch_one(&mut *tx)
        .await
        .map_err(db)?;
        if !no_scores {
            let jobs = (0..parts.map)
                .map(|part| Job::RegradeMap {
                    regrade_id: id,
                    part,
                })
                .collect();
            enqueue(&mut tx, jobs).await?;
        }
        let regrade = regrade_in(&mut tx, id).await?.expect("just inserted");
        tx.commit().await.map_err(db)?;
        Ok(regrade)
    }

    async fn regrade(&self, id: i64) -> PortResult<Option<Regrade>> {
        let mut conn = self.read.acquire().await.map_err(db)?;
        regrade_in(&mut conn, id).await
    }

    async fn regrades(&self, limit: u32) -> PortResult<Vec<Regrade>> {
        let sql = format!("SELECT {REGRADE_COLUMNS} FROM regrades ORDER BY id DESC LIMIT ?1");
        let rows = sqlx::query(&sql)
            .bind(i64::from(limit))
            .fetch_all(&self.read)
            .await
            .map_err(db)?;
        rows.iter().map(regrade_of).collect()
    }

    async fn graded_terms(&self) -> PortResult<Vec<CourseTerm>> {
        let rows = sqlx::query(
            "SELECT DISTINCT course_code, session, semester FROM score_records \
             ORDER BY course_code, session, semester",
        )
        .fetch_all(&self.read)
        .await
        .map_err(db)?;
        rows.iter().map(crate::rows::term_of).collect()
    }

    async fn regrade_rows(&self, terms: &[CourseTerm]) -> PortResult<Vec<RegradeRow>> {
        let list: Vec<(&str, u16, u8)> = terms
            .iter()
            .map(|t| {
                (
                    t.course_code.as_str(),
                    t.session.start_year(),
                    t.semester.number(),
                )
            })
            .collect();
        let list = serde_json::to_string(&list).expect("terms always serialise");
        // One JSON string instead of many rows: far cheaper to decode per record.
        let json: String = sqlx::query_scalar(
            "SELECT json_group_array(json_array(r.matric_no, r.course_code, r.session, \
             r.semester, c.units, r.total, r.version, s.entry_session, r.grade, r.points)) \
             FROM json_each(?1) t \
             JOIN score_records r ON r.course_code = t.value->>0 \
               AND r.session = t.value->>1 AND r.semester = t.value->>2 \
             JOIN courses c ON c.code = r.course_code \
             JOIN students s ON s.matric_no = r.matric_no",
        )
        .bind(list)
        .fetch_one(&self.read)
        .await
        .map_err(db)?;
        rows_of_json(&json)
    }

    async fn finish_map(
        &self,
        regrade_id: i64,
        part: u32,
        rows: &[RegradeRow],
        changed: u64,
    ) -> PortResult<bool> {
        crate::regrade::finish_map(self, regrade_id, part, rows, changed).await
    }

    async fn reduce_rows(&self, regrade_id: i64, part: u32) -> PortResult<Vec<RegradeRow>> {
        let json: String = sqlx::query_scalar(
            "SELECT json_group_array(json_array(matric_no, course_code, session, semester, \
             units, total, score_version, entry_session, grade, points)) FROM \
             (SELECT * FROM regrade_grades WHERE regrade_id = ?1 AND reduce_part = ?2 \
              ORDER BY matric_no)",
        )
        .bind(regrade_id)
        .bind(i64::from(part))
        .fetch_one(&self.read)
        .await
        .map_err(db)?;
        rows_of_json(&json)
    }

    async fn finish_reduce(
        &self,
        regrade_id: i64,
        part: u32,
        results: &[SemesterResult],
    ) -> PortResult<bool> {
        crate::regrade::finish_reduce(self, regrade_id, part, results).await
    }

    async fn commit_regrade(&self, regrade_id: i64) -> PortResult<Committed> {
        crate::regrade::commit(self, regrade_id).await
    }

    async fn fail_regrade(&self, regrade_id: i64, message: &str) -> PortResult<()> {
        let mut tx = self.begin().await?;
        if regrade_in(&mut tx, regrade_id).await?.is_none() {
            return Err(PortError::NotFound(format!("regrade {regrade_id}")));
        }
        let failed = sqlx::query(
            "UPDATE regrades SET status = 'failed', message = ?2, finished_at_ms = ?3 \
             WHERE id = ?1 AND status NOT IN ('done', 'failed')",
        )
        .bind(regrade_id)
        .bind(message)
        .bind(now_ms())
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        if failed.rows_affected() == 1 {
            // The staged rows of a regrade that will never switch are of no use.
            crate::regrade::drop_staging(&mut tx, regrade_id).await?;
        }
        tx.commit().await.map_err(db)
    }
}

type RowTuple = (String, String, i64, i64, i64, i64, i64, i64, String, i64);

/// Regrade rows from `json_array(matric, course, session, semester, units, total, version,
/// entry, grade, points)` elements.
pub(crate) fn rows_of_json(json: &str) -> PortResult<Vec<RegradeRow>> {
    let raw: Vec<RowTuple> = serde_json::from_str(json).map_err(|e| corrupt("score records", e))?;
    raw.into_iter()
        .map(
            |(m, code, sess, sem, units, total, version, entry, grade, points)| {
                Ok(RegradeRow {
                    matric: crate::rows::matric(&m)?,
                    course: course_code(&code)?,
                    session: session(sess)?,
                    semester: semester(sem)?,
                    units: crate::rows::small("units", units)?,
                    total: crate::rows::score(total)?,
                    score_version: version as u32,
                    entry: session(entry)?,
                    grade,
                    points: crate::rows::small("points", points)?,
                })
            },
        )
        .collect()
}
