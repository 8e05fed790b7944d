//! Students' current records, their history, and their stored semester results. Semester
//! results are only ever computed by `eportal_core::gpa::summarise` over a student's current
//! records, never by SQL arithmetic, so the store and the core cannot disagree.
//!
//! An applied sheet does not recompute them: it marks its students stale and queues a
//! refresh, which recomputes every marked student once however many sheets marked them.

use crate::error::{corrupt, db};
use crate::rows::{
    course_code, get, json_list, matric, record, semester, session, small, RECORD_COLUMNS,
    RECORD_JOINS,
};
use crate::{SqliteStore, DEFAULT_QUEUE};
use async_trait::async_trait;
use eportal_core::gpa::{summarise, Attempt, Gpa};
use eportal_core::jobs::{Envelope, Job};
use eportal_core::model::{CourseRecord, CourseTerm, SemesterResult};
use eportal_core::{CourseCode, MatricNo, PolicyBook};
use eportal_ports::error::PortResult;
use eportal_ports::{Refreshed, Results};
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};
use std::borrow::Cow;
use std::collections::HashMap;

/// Recomputes and replaces the semester results of `matrics`, inside the caller's transaction.
pub(crate) async fn recompute_in(
    conn: &mut SqliteConnection,
    matrics: &[MatricNo],
    book: &PolicyBook,
) -> PortResult<()> {
    if matrics.is_empty() {
        return Ok(());
    }
    let list = json_list(matrics);
    // One JSON string instead of thousands of rows: decoding it is far cheaper per record.
    // Each record carries only its own columns: a student's cohort and a course's units are
    // read once each, not joined onto every record (a refresh of 4,000 students reads
    // 48,000 records of a dozen courses).
    let records: String = sqlx::query_scalar(
        "SELECT json_group_array(json_array(matric_no, course_code, session, semester, \
         points)) FROM score_records WHERE matric_no IN (SELECT value FROM json_each(?1))",
    )
    .bind(&list)
    .fetch_one(&mut *conn)
    .await
    .map_err(db)?;
    let cohorts: String = sqlx::query_scalar(
        "SELECT json_group_array(json_array(matric_no, entry_session)) FROM students \
         WHERE matric_no IN (SELECT value FROM json_each(?1))",
    )
    .bind(&list)
    .fetch_one(&mut *conn)
    .await
    .map_err(db)?;
    type Record<'a> = (Cow<'a, str>, Cow<'a, str>, i64, i64, i64);
    let rows: Vec<Record> =
        serde_json::from_str(&records).map_err(|e| corrupt("score records", e))?;
    let cohorts: Vec<(Cow<str>, i64)> =
        serde_json::from_str(&cohorts).map_err(|e| corrupt("students", e))?;
    let entry: HashMap<&str, i64> = cohorts.iter().map(|(m, e)| (m.as_ref(), *e)).collect();
    let mut codes: Vec<&str> = rows.iter().map(|r| r.1.as_ref()).collect();
    codes.sort_unstable();
    codes.dedup();
    let units: Vec<(String, i64)> = sqlx::query_as(
        "SELECT code, units FROM courses WHERE code IN (SELECT value FROM json_each(?1))",
    )
    .bind(json_list(&codes))
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    let mut courses: HashMap<&str, (CourseCode, u8)> = HashMap::with_capacity(units.len());
    for (code, u) in &units {
        courses.insert(code.as_str(), (course_code(code)?, small("units", *u)?));
    }
    let mut attempts: HashMap<&str, Vec<Attempt>> = HashMap::with_capacity(matrics.len());
    for (m, code, sess, sem, points) in &rows {
        let (course, units) = courses
            .get(code.as_ref())
            .ok_or_else(|| corrupt("score record", format!("unknown course {code}")))?;
        attempts.entry(m.as_ref()).or_default().push(Attempt {
            course: course.clone(),
            session: session(*sess)?,
            semester: semester(*sem)?,
            units: *units,
            points: small("points", *points)?,
        });
    }
    let mut out = Vec::new();
    for (m, a) in &attempts {
        let cohort = entry
            .get(m)
            .ok_or_else(|| corrupt("score record", format!("unknown student {m}")))?;
        let policy = book.for_student(session(*cohort)?);
        for s in summarise(a, policy) {
            out.push((*m, s));
        }
    }
    sqlx::query(
        "DELETE FROM semester_results WHERE matric_no IN (SELECT value FROM json_each(?1))",
    )
    .bind(&list)
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    // Bound values, many rows a statement (9 values a row, within SQLite's 32,766).
    for chunk in out.chunks(3_000) {
        let mut q = QueryBuilder::<Sqlite>::new(
            "INSERT INTO semester_results (matric_no, session, semester, units, weighted_points, \
             gpa, cumulative_units, cumulative_weighted_points, cgpa) ",
        );
        q.push_values(chunk, |mut b, (m, s)| {
            b.push_bind(*m)
                .push_bind(i64::from(s.session.start_year()))
                .push_bind(i64::from(s.semester.number()))
                .push_bind(i64::from(s.tally.units))
                .push_bind(i64::from(s.tally.weighted))
                .push_bind(i64::from(s.gpa.hundredths()))
                .push_bind(i64::from(s.cumulative.units))
                .push_bind(i64::from(s.cumulative.weighted))
                .push_bind(i64::from(s.cgpa.hundredths()));
        });
        q.build().execute(&mut *conn).await.map_err(db)?;
    }
    Ok(())
}

/// Marks `matrics`' stored semester results stale, inside the caller's (apply's)
/// transaction, and queues a [`Job::RefreshResults`] unless one is already waiting: a
/// waiting refresh has not read the marks yet, so it will see these once this commits
/// (SQLite runs one write at a time). A refresh already running may have read them, so
/// it does not count.
pub(crate) async fn mark_stale(
    conn: &mut SqliteConnection,
    matrics: &[MatricNo],
    now: i64,
) -> PortResult<()> {
    if matrics.is_empty() {
        return Ok(());
    }
    // Bound values, many rows a statement (2 values a row).
    for chunk in matrics.chunks(10_000) {
        let mut q =
            QueryBuilder::<Sqlite>::new("INSERT INTO results_stale (matric_no, marked_at_ms) ");
        q.push_values(chunk, |mut b, m| {
            b.push_bind(m.as_str()).push_bind(now);
        });
        q.push(" ON CONFLICT (matric_no) DO NOTHING");
        q.build().execute(&mut *conn).await.map_err(db)?;
    }
    let refresh = Envelope::new(Job::RefreshResults, None);
    let waiting: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM jobs WHERE queue = ?1 AND state = 'ready' AND payload = ?2)",
    )
    .bind(DEFAULT_QUEUE)
    .bind(refresh.to_json())
    .fetch_one(&mut *conn)
    .await
    .map_err(db)?;
    // A background job: under lifo, sjf and round_robin it waits behind the sheets still
    // queued (until aged), so the sheets applied meanwhile join it instead of each costing one.
    if !waiting {
        crate::queue::insert_job(&mut *conn, DEFAULT_QUEUE, &refresh, now).await?;
    }
    Ok(())
}

/// [`Results::refresh_results`]: the oldest `limit` marks, recomputed and cleared in one
/// write transaction, under `book` if it is the active one.
async fn refresh(store: &SqliteStore, book: &PolicyBook, limit: u32) -> PortResult<Refreshed> {
    let mut tx = store.begin().await?;
    let active = crate::policies::active_version(&mut *tx).await?;
    if active != book.version {
        return Ok(Refreshed::PolicyChanged { active });
    }
    // One JSON row, not thousands of rows each crossing from the writer's thread.
    let taken: String = sqlx::query_scalar(
        "SELECT json_group_array(matric_no) FROM (SELECT matric_no FROM results_stale \
         ORDER BY marked_at_ms, matric_no LIMIT ?1)",
    )
    .bind(i64::from(limit))
    .fetch_one(&mut *tx)
    .await
    .map_err(db)?;
    let taken: Vec<String> = serde_json::from_str(&taken).map_err(|e| corrupt("stale marks", e))?;
    let matrics = taken
        .iter()
        .map(|m| matric(m))
        .collect::<PortResult<Vec<_>>>()?;
    recompute_in(&mut tx, &matrics, book).await?;
    sqlx::query("DELETE FROM results_stale WHERE matric_no IN (SELECT value FROM json_each(?1))")
        .bind(json_list(&taken))
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
        left: left as u64,
    })
}

fn gpa(v: i64) -> PortResult<Gpa> {
    small::<u16>("GPA", v).map(Gpa::from_hundredths)
}

#[async_trait]
impl Results for SqliteStore {
    async fn student_records(&self, m: &MatricNo) -> PortResult<Vec<CourseRecord>> {
        // The same read, with the book version beside it.
        Ok(eportal_ports::Policies::graded_records(self, m).await?.0)
    }

    async fn semester_results(&self, m: &MatricNo) -> PortResult<Vec<SemesterResult>> {
        let rows = sqlx::query(
            "SELECT matric_no, session, semester, units, weighted_points, gpa, cumulative_units, \
             cumulative_weighted_points, cgpa FROM semester_results WHERE matric_no = ?1 \
             ORDER BY session, semester",
        )
        .bind(m.as_str())
        .fetch_all(&self.read)
        .await
        .map_err(db)?;
        rows.iter()
            .map(|r| {
                Ok(SemesterResult {
                    matric_no: matric(&get::<String>(r, "matric_no")?)?,
                    session: session(get(r, "session")?)?,
                    semester: semester(get(r, "semester")?)?,
                    units: small("units", get(r, "units")?)?,
                    weighted_points: small("weighted_points", get(r, "weighted_points")?)?,
                    gpa: gpa(get(r, "gpa")?)?,
                    cumulative_units: small("cumulative_units", get(r, "cumulative_units")?)?,
                    cumulative_weighted_points: small(
                        "cumulative_weighted_points",
                        get(r, "cumulative_weighted_points")?,
                    )?,
                    cgpa: gpa(get(r, "cgpa")?)?,
                })
            })
            .collect()
    }

    async fn course_records(&self, term: &CourseTerm) -> PortResult<Vec<CourseRecord>> {
        let sql = format!(
            "SELECT {RECORD_COLUMNS} FROM score_records r {RECORD_JOINS} \
             WHERE r.course_code = ?1 AND r.session = ?2 AND r.semester = ?3 \
             ORDER BY r.matric_no"
        );
        let rows = sqlx::query(&sql)
            .bind(term.course_code.as_str())
            .bind(term.session.start_year() as i64)
            .bind(term.semester.number() as i64)
            .fetch_all(&self.read)
            .await
            .map_err(db)?;
        rows.iter().map(record).collect()
    }

    async fn record_history(
        &self,
        m: &MatricNo,
        term: &CourseTerm,
    ) -> PortResult<Vec<CourseRecord>> {
        let sql = format!(
            "SELECT {RECORD_COLUMNS} FROM score_record_versions r {RECORD_JOINS} \
             WHERE r.course_code = ?1 AND r.session = ?2 AND r.semester = ?3 \
             AND r.matric_no = ?4 ORDER BY r.version"
        );
        let rows = sqlx::query(&sql)
            .bind(term.course_code.as_str())
            .bind(term.session.start_year() as i64)
            .bind(term.semester.number() as i64)
            .bind(m.as_str())
            .fetch_all(&self.read)
            .await
            .map_err(db)?;
        rows.iter().map(record).collect()
    }

    async fn recompute_results(&self, matrics: &[MatricNo], book: &PolicyBook) -> PortResult<()> {
        let mut tx = self.begin().await?;
        recompute_in(&mut tx, matrics, book).await?;
        tx.commit().await.map_err(db)
    }

    async fn refresh_results(&self, book: &PolicyBook, limit: u32) -> PortResult<Refreshed> {
        refresh(self, book, limit).await
    }

    async fn stale_results(&self) -> PortResult<u64> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM results_stale")
            .fetch_one(&self.read)
            .await
            .map_err(db)?;
        Ok(n as u64)
    }
}
