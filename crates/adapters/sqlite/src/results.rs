//! Students' current records, their history, and their stored semester results. Semester
//! results are only ever computed by `eportal_core::gpa::summarise` over a student's current
//! records, never by SQL arithmetic, so the store and the core cannot disagree.

use crate::error::{corrupt, db};
use crate::rows::{
    course_code, get, json_list, matric, record, semester, session, small, RECORD_COLUMNS,
    RECORD_JOINS,
};
use crate::SqliteStore;
use async_trait::async_trait;
use eportal_core::gpa::{summarise, Attempt, Gpa};
use eportal_core::model::{CourseRecord, CourseTerm, SemesterResult};
use eportal_core::{CourseCode, MatricNo, PolicyBook};
use eportal_ports::error::PortResult;
use eportal_ports::Results;
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};
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
    let json: String = sqlx::query_scalar(
        "SELECT json_group_array(json_array(r.matric_no, r.course_code, r.session, \
         r.semester, c.units, r.points, s.entry_session)) \
         FROM score_records r JOIN courses c ON c.code = r.course_code \
         JOIN students s ON s.matric_no = r.matric_no \
         WHERE r.matric_no IN (SELECT value FROM json_each(?1))",
    )
    .bind(&list)
    .fetch_one(&mut *conn)
    .await
    .map_err(db)?;
    let rows: Vec<(String, String, i64, i64, i64, i64, i64)> =
        serde_json::from_str(&json).map_err(|e| corrupt("score records", e))?;
    let mut codes: HashMap<String, CourseCode> = HashMap::new();
    let mut attempts: HashMap<String, Vec<Attempt>> = HashMap::new();
    let mut entry: HashMap<String, i64> = HashMap::new();
    for (m, code, sess, sem, units, points, entered) in rows {
        entry.entry(m.clone()).or_insert(entered);
        let course = match codes.get(&code) {
            Some(c) => c.clone(),
            None => {
                let c = course_code(&code)?;
                codes.insert(code, c.clone());
                c
            }
        };
        attempts.entry(m).or_default().push(Attempt {
            course,
            session: session(sess)?,
            semester: semester(sem)?,
            units: small("units", units)?,
            points: small("points", points)?,
        });
    }
    let mut out = Vec::new();
    for (m, a) in &attempts {
        let policy = book.for_student(session(entry[m])?);
        for s in summarise(a, policy) {
            out.push((m.as_str(), s));
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
}
