//! Students' course records and semester results in PostgreSQL, and the recompute of
//! semester results (GPA and running CGPA) that `apply_sheet` runs inside its transaction.
//!
//! GPAs are computed by `eportal_core::gpa` from integer units and points, never here in
//! SQL and never through floats. A recompute must never interleave with another recompute
//! of the same student: it locks the students' rows first.

use crate::convert::{self, get, record_select, term_key};
use crate::error::db;
use crate::PgStore;
use async_trait::async_trait;
use eportal_core::gpa::{summarise, Attempt};
use eportal_core::model::{CourseRecord, CourseTerm, SemesterResult};
use eportal_core::{Gpa, MatricNo, PolicyBook};
use eportal_ports::error::PortResult;
use eportal_ports::{now_ms, PortError, Results};
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
}
