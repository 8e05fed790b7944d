//! Students' course records and semester results in PostgreSQL, and the recompute of
//! semester results (GPA and running CGPA): an applied sheet marks its students stale, and a
//! queued refresh recomputes every marked student once however many sheets marked them.
//!
//! GPAs are computed by `eportal_core::gpa` from integer units and points, never here in
//! SQL and never through floats. A recompute must never interleave with another recompute
//! of the same student: it locks the students' rows first.

use crate::convert::{self, get, record_select, term_key};
use crate::error::db;
use crate::PgStore;
use async_trait::async_trait;
use eportal_core::gpa::{summarise, Attempt};
use eportal_core::jobs::{Envelope, Job};
use eportal_core::model::{CourseRecord, CourseTerm, SemesterResult};
use eportal_core::{Gpa, MatricNo, PolicyBook};
use eportal_ports::error::PortResult;
use eportal_ports::{now_ms, PortError, Refreshed, Results};
use sqlx::PgConnection;
use std::collections::BTreeMap;

/// Recomputes and stores the semester results of `matrics` inside the caller's transaction,
/// each student's under their own policy in `book`. Students who have no current record left
/// lose their stored results.
pub(crate) async fn recompute(
    conn: &mut PgConnection,
    matrics: &[String],
    book: &PolicyBook,
) -> PortResult<()> {
    if matrics.is_empty() {
        return Ok(());
    }
    // Row locks in matric order: two transactions recomputing overlapping students queue up
    // instead of each writing results computed from records the other had not committed.
    // NO KEY UPDATE leaves the foreign-key checks of other writers unblocked.
    // The entry session says each student's policy in the book.
    let entry: BTreeMap<String, i32> = sqlx::query_as(
        "SELECT matric_no, entry_session FROM students WHERE matric_no = ANY($1::text[]) \
         ORDER BY matric_no FOR NO KEY UPDATE",
    )
    .bind(matrics)
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?
    .into_iter()
    .collect();
    // Two single-table reads joined here rather than in SQL: the plan cannot go wrong
    // however stale the table statistics are after a large first import.
    let rows = sqlx::query(
        "SELECT matric_no, course_code, session, semester, points FROM current_scores \
         WHERE matric_no = ANY($1::text[])",
    )
    .bind(matrics)
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    let mut codes: Vec<String> = rows
        .iter()
        .map(|r| get::<String>(r, "course_code"))
        .collect::<PortResult<_>>()?;
    codes.sort();
    codes.dedup();
    let units: BTreeMap<String, i32> =
        sqlx::query_as("SELECT code, units FROM courses WHERE code = ANY($1::text[])")
            .bind(&codes)
            .fetch_all(&mut *conn)
            .await
            .map_err(db)?
            .into_iter()
            .collect();
    let mut attempts: BTreeMap<String, Vec<Attempt>> = BTreeMap::new();
    for r in &rows {
        let code: String = get(r, "course_code")?;
        let course_units = *units.get(&code).ok_or_else(|| {
            PortError::Invalid(format!("a current score refers to unknown course {code}"))
        })?;
        attempts
            .entry(get::<String>(r, "matric_no")?)
            .or_default()
            .push(Attempt {
                course: convert::course_code(&code)?,
                session: convert::session(get(r, "session")?)?,
                semester: convert::semester(get(r, "semester")?)?,
                units: convert::small("course units", course_units)?,
                points: convert::small("grade points", get(r, "points")?)?,
            });
    }
    sqlx::query("DELETE FROM semester_results WHERE matric_no = ANY($1::text[])")
        .bind(matrics)
        .execute(&mut *conn)
        .await
        .map_err(db)?;

    let mut cols = SemesterColumns::default();
    for (matric, list) in &attempts {
        let entry = entry.get(matric).ok_or_else(|| {
            PortError::Invalid(format!(
                "a current score refers to unknown student {matric}"
            ))
        })?;
        let policy = book.for_student(convert::session(*entry)?);
        for s in summarise(list, policy) {
            cols.push(matric, &s);
        }
    }
    if cols.matric.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO semester_results (matric_no, session, semester, units, weighted_points, \
         gpa, cumulative_units, cumulative_weighted_points, cgpa, computed_at_ms) \
         SELECT m, s, t, u, w, g, cu, cw, cg, $10 FROM UNNEST($1::text[], $2::int4[], \
         $3::int4[], $4::int8[], $5::int8[], $6::int4[], $7::int8[], $8::int8[], $9::int4[]) \
         AS x(m, s, t, u, w, g, cu, cw, cg)",
    )
    .bind(&cols.matric)
    .bind(&cols.session)
    .bind(&cols.semester)
    .bind(&cols.units)
    .bind(&cols.weighted)
    .bind(&cols.gpa)
    .bind(&cols.cum_units)
    .bind(&cols.cum_weighted)
    .bind(&cols.cgpa)
    .bind(now_ms())
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    Ok(())
}

/// Marks the stored semester results of `matrics` (sorted) stale inside the caller's
/// (apply's) transaction, and queues a [`Job::RefreshResults`] through the outbox with them
/// unless one already waits there that will see them.
///
/// A mark that already exists is locked, not skipped: the conflict's update waits for a
/// refresh that holds the mark (`FOR UPDATE`) to commit, and then, the old mark being gone,
/// inserts a new one, so a refresh that read the student's scores before this apply's can
/// never clear this apply's mark. Its `WHERE false` writes nothing (PostgreSQL locks every
/// conflicting row an `ON CONFLICT DO UPDATE` meets, whether or not it updates it): a
/// rewritten mark cost a new row version and index entries, about 12 ms a 2,000-row sheet
/// against 4 ms. Sorted, so two applies lock shared marks in one order.
pub(crate) async fn mark_stale(conn: &mut PgConnection, matrics: &[String]) -> PortResult<()> {
    if matrics.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO results_stale (matric_no, marked_at_ms) \
         SELECT m, $2 FROM UNNEST($1::text[]) AS x(m) \
         ON CONFLICT (matric_no) DO UPDATE SET marked_at_ms = results_stale.marked_at_ms \
         WHERE false",
    )
    .bind(matrics)
    .bind(now_ms())
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    // No second refresh while one waits in the outbox unclaimed: it reaches the queue only
    // after a relay claims it, which waits for this transaction (the row is locked here), so
    // it will see these marks. One that is claimed, or locked by another apply, may already
    // be on its way to a worker: then a new one is queued. A background job, so under lifo,
    // sjf and round_robin it waits behind the sheets still in the outbox (until aged).
    let refresh = Envelope::new(Job::RefreshResults, None);
    let waiting: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM outbox WHERE published_at_ms IS NULL AND claimed_until_ms IS NULL \
         AND background AND envelope = $1 LIMIT 1 FOR UPDATE SKIP LOCKED",
    )
    .bind(refresh.to_json())
    .fetch_optional(&mut *conn)
    .await
    .map_err(db)?;
    if waiting.is_none() {
        crate::outbox::enqueue(conn, &refresh).await?;
    }
    Ok(())
}

/// [`Results::refresh_results`]: the oldest `limit` marks nobody else holds, recomputed and
/// cleared in one transaction, under `book` if it is the active one.
async fn refresh(store: &PgStore, book: &PolicyBook, limit: u32) -> PortResult<Refreshed> {
    let mut tx = store.pool.begin().await.map_err(db)?;
    // As an apply: a regrade's switch waits for this, or this for it.
    if let Some(active) = crate::policies::stale_book(&mut tx, book).await? {
        return Ok(Refreshed::PolicyChanged { active });
    }
    let mut taken: Vec<String> = sqlx::query_scalar(
        "SELECT matric_no FROM results_stale ORDER BY marked_at_ms, matric_no LIMIT $1 \
         FOR UPDATE SKIP LOCKED",
    )
    .bind(i64::from(limit))
    .fetch_all(&mut *tx)
    .await
    .map_err(db)?;
    taken.sort();
    recompute(&mut tx, &taken, book).await?;
    sqlx::query("DELETE FROM results_stale WHERE matric_no = ANY($1::text[])")
        .bind(&taken)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM results_stale")
        .fetch_one(&mut *tx)
        .await
        .map_err(db)?;
    tx.commit().await.map_err(db)?;
    Ok(Refreshed::Done {
        students: taken.len() as u64,
        left: left.max(0) as u64,
    })
}

/// Semester summaries as column arrays, for one `UNNEST` insert.
#[derive(Default)]
struct SemesterColumns {
    matric: Vec<String>,
    session: Vec<i32>,
    semester: Vec<i32>,
    units: Vec<i64>,
    weighted: Vec<i64>,
    gpa: Vec<i32>,
    cum_units: Vec<i64>,
    cum_weighted: Vec<i64>,
    cgpa: Vec<i32>,
}

impl SemesterColumns {
    fn push(&mut self, matric: &str, s: &eportal_core::gpa::SemesterSummary) {
        self.matric.push(matric.to_string());
        self.session.push(i32::from(s.session.start_year()));
        self.semester.push(i32::from(s.semester.number()));
        self.units.push(i64::from(s.tally.units));
        self.weighted.push(i64::from(s.tally.weighted));
        self.gpa.push(i32::from(s.gpa.hundredths()));
        self.cum_units.push(i64::from(s.cumulative.units));
        self.cum_weighted.push(i64::from(s.cumulative.weighted));
        self.cgpa.push(i32::from(s.cgpa.hundredths()));
    }
}

#[async_trait]
impl Results for PgStore {
    async fn student_records(&self, matric: &MatricNo) -> PortResult<Vec<CourseRecord>> {
        // The same read, with the book version beside it.
        Ok(eportal_ports::Policies::graded_records(self, matric)
            .await?
            .0)
    }

    async fn semester_results(&self, matric: &MatricNo) -> PortResult<Vec<SemesterResult>> {
        let rows = sqlx::query(
            "SELECT matric_no, session, semester, units, weighted_points, gpa, cumulative_units, \
             cumulative_weighted_points, cgpa FROM semester_results WHERE matric_no = $1 \
             ORDER BY session, semester",
        )
        .bind(matric.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.iter()
            .map(|r| {
                Ok(SemesterResult {
                    matric_no: convert::matric(&get::<String>(r, "matric_no")?)?,
                    session: convert::session(get(r, "session")?)?,
                    semester: convert::semester(get(r, "semester")?)?,
                    units: convert::count("units", get(r, "units")?)?,
                    weighted_points: convert::count("weighted points", get(r, "weighted_points")?)?,
                    gpa: Gpa::from_hundredths(convert::small("GPA", get(r, "gpa")?)?),
                    cumulative_units: convert::count("units", get(r, "cumulative_units")?)?,
                    cumulative_weighted_points: convert::count(
                        "weighted points",
                        get(r, "cumulative_weighted_points")?,
                    )?,
                    cgpa: Gpa::from_hundredths(convert::small("CGPA", get(r, "cgpa")?)?),
                })
            })
            .collect()
    }

    async fn course_records(&self, term: &CourseTerm) -> PortResult<Vec<CourseRecord>> {
        let (code, session, semester) = term_key(term);
        let sql = format!(
            "{} WHERE v.course_code = $1 AND v.session = $2 AND v.semester = $3 \
             ORDER BY v.matric_no",
            record_select("current_scores")
        );
        let rows = sqlx::query(&sql)
            .bind(code)
            .bind(session)
            .bind(semester)
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        rows.iter().map(convert::course_record).collect()
    }

    async fn record_history(
        &self,
        matric: &MatricNo,
        term: &CourseTerm,
    ) -> PortResult<Vec<CourseRecord>> {
        let (code, session, semester) = term_key(term);
        let sql = format!(
            "{} WHERE v.matric_no = $1 AND v.course_code = $2 AND v.session = $3 \
             AND v.semester = $4 ORDER BY v.version",
            record_select("score_versions")
        );
        let rows = sqlx::query(&sql)
            .bind(matric.as_str())
            .bind(code)
            .bind(session)
            .bind(semester)
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        rows.iter().map(convert::course_record).collect()
    }

    async fn recompute_results(&self, matrics: &[MatricNo], book: &PolicyBook) -> PortResult<()> {
        let mut list: Vec<String> = matrics.iter().map(|m| m.as_str().to_string()).collect();
        list.sort();
        list.dedup();
        let mut tx = self.pool.begin().await.map_err(db)?;
        recompute(&mut tx, &list, book).await?;
        tx.commit().await.map_err(db)
    }

    async fn refresh_results(&self, book: &PolicyBook, limit: u32) -> PortResult<Refreshed> {
        refresh(self, book, limit).await
    }

    async fn stale_results(&self) -> PortResult<u64> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM results_stale")
            .fetch_one(&self.pool)
            .await
            .map_err(db)?;
        Ok(n.max(0) as u64)
    }
}
