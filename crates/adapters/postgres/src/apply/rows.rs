//! The set-based reads and writes of one sheet's rows inside an apply's transaction: the
//! term's current scores and latest versions of the sheet's students (one read), the new
//! versions and current scores (a statement each, the students checked in one lookup), the
//! scores a replacing sheet drops, and the row errors.

use super::{count, Term};
use crate::convert::kind_name;
use crate::error::db;
use eportal_core::sheet::{AcceptedRow, RowError};
use eportal_ports::error::PortResult;
use eportal_ports::{now_ms, PortError};
use sqlx::{PgConnection, Row};
use std::collections::BTreeMap;

/// A score's value, as compared to decide whether it changed.
#[derive(PartialEq, Eq)]
pub(super) struct Value {
    ca: i32,
    exam: i32,
    total: i32,
    grade: String,
    points: i32,
}

impl Value {
    pub(super) fn of(r: &AcceptedRow) -> Value {
        Value {
            ca: i32::from(r.ca.tenths()),
            exam: i32::from(r.exam.tenths()),
            total: i32::from(r.total.tenths()),
            grade: r.grade.clone(),
            points: i32::from(r.points),
        }
    }
}

/// The term's students' histories (of the students in `only`, when given), in one read:
/// each one's current score, if any, and the highest version their score has had, current
/// or not (versions continue after a score was dropped and added again). Every current
/// score is one of its student's versions, so the versions name every student with either.
pub(super) async fn history(
    conn: &mut PgConnection,
    term: &Term,
    only: Option<&[&str]>,
) -> PortResult<(BTreeMap<String, Value>, BTreeMap<String, i32>)> {
    let rows = sqlx::query(
        "SELECT v.matric_no, max(v.version) AS latest, c.ca, c.exam, c.total, c.grade, \
         c.points FROM score_versions v LEFT JOIN current_scores c \
         ON c.course_code = v.course_code AND c.session = v.session \
         AND c.semester = v.semester AND c.matric_no = v.matric_no \
         WHERE v.course_code = $1 AND v.session = $2 AND v.semester = $3 \
         AND ($4::text[] IS NULL OR v.matric_no = ANY($4)) \
         GROUP BY v.matric_no, c.ca, c.exam, c.total, c.grade, c.points",
    )
    .bind(&term.code)
    .bind(term.session)
    .bind(term.semester)
    .bind(only)
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    let mut current = BTreeMap::new();
    let mut latest = BTreeMap::new();
    for r in &rows {
        let matric: String = r.try_get("matric_no").map_err(db)?;
        if let Some(grade) = r.try_get::<Option<String>, _>("grade").map_err(db)? {
            let value = Value {
                ca: r.try_get("ca").map_err(db)?,
                exam: r.try_get("exam").map_err(db)?,
                total: r.try_get("total").map_err(db)?,
                grade,
                points: r.try_get("points").map_err(db)?,
            };
            current.insert(matric.clone(), value);
        }
        latest.insert(matric, r.try_get("latest").map_err(db)?);
    }
    Ok((current, latest))
}

/// Records the new versions and makes them the current scores, one statement each.
pub(super) async fn write_scores(
    conn: &mut PgConnection,
    term: &Term,
    sheet_id: i64,
    rows: &[(&AcceptedRow, i32)],
) -> PortResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let matric: Vec<&str> = rows.iter().map(|(r, _)| r.matric.as_str()).collect();
    let version: Vec<i32> = rows.iter().map(|(_, v)| *v).collect();
    let ca: Vec<i32> = rows.iter().map(|(r, _)| i32::from(r.ca.tenths())).collect();
    let exam: Vec<i32> = rows
        .iter()
        .map(|(r, _)| i32::from(r.exam.tenths()))
        .collect();
    let total: Vec<i32> = rows
        .iter()
        .map(|(r, _)| i32::from(r.total.tenths()))
        .collect();
    let grade: Vec<&str> = rows.iter().map(|(r, _)| r.grade.as_str()).collect();
    let points: Vec<i32> = rows.iter().map(|(r, _)| i32::from(r.points)).collect();
    let values = "FROM UNNEST($5::text[], $6::int4[], $7::int4[], $8::int4[], $9::int4[], \
                  $10::text[], $11::int4[]) AS x(m, v, c, e, t, g, p)";
    let history = format!(
        "INSERT INTO score_versions (course_code, session, semester, matric_no, version, ca, \
         exam, total, grade, points, sheet_id, recorded_at_ms) \
         SELECT $1, $2, $3, m, v, c, e, t, g, p, $4, $12 {values}"
    );
    let current = format!(
        "INSERT INTO current_scores (course_code, session, semester, matric_no, version, ca, \
         exam, total, grade, points, sheet_id) \
         SELECT $1, $2, $3, m, v, c, e, t, g, p, $4 {values} \
         ON CONFLICT (course_code, session, semester, matric_no) DO UPDATE SET \
         version = EXCLUDED.version, ca = EXCLUDED.ca, exam = EXCLUDED.exam, \
         total = EXCLUDED.total, grade = EXCLUDED.grade, points = EXCLUDED.points, \
         sheet_id = EXCLUDED.sheet_id"
    );
    let with_rows = |sql| {
        sqlx::query(sql)
            .bind(&term.code)
            .bind(term.session)
            .bind(term.semester)
            .bind(sheet_id)
            .bind(&matric)
            .bind(&version)
            .bind(&ca)
            .bind(&exam)
            .bind(&total)
            .bind(&grade)
            .bind(&points)
    };
    // What the tables' keys once checked row by row (migration 0012), once a sheet: the
    // course and the sheet are those of the sheet row this transaction holds, and its
    // students are looked up together.
    let unknown: Option<String> = sqlx::query_scalar(
        "SELECT x.m FROM UNNEST($1::text[]) AS x(m) \
         WHERE NOT EXISTS (SELECT 1 FROM students s WHERE s.matric_no = x.m) LIMIT 1",
    )
    .bind(&matric)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db)?;
    if let Some(m) = unknown {
        return Err(PortError::Invalid(format!(
            "the sheet's accepted rows name a student who does not exist ({m})"
        )));
    }
    with_rows(&history)
        .bind(now_ms())
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    with_rows(&current).execute(&mut *conn).await.map_err(db)?;
    Ok(())
}

/// Students left off the applied sheet lose their current score (its history stays).
pub(super) async fn drop_current(
    conn: &mut PgConnection,
    term: &Term,
    removed: &[String],
) -> PortResult<()> {
    if removed.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "DELETE FROM current_scores WHERE course_code = $1 AND session = $2 \
         AND semester = $3 AND matric_no = ANY($4::text[])",
    )
    .bind(&term.code)
    .bind(term.session)
    .bind(term.semester)
    .bind(removed)
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    Ok(())
}

pub(super) async fn insert_row_errors(
    conn: &mut PgConnection,
    sheet_id: i64,
    errors: &[RowError],
) -> PortResult<()> {
    if errors.is_empty() {
        return Ok(());
    }
    let ordinal: Vec<i32> = (0..errors.len()).map(count).collect::<PortResult<_>>()?;
    let row_no: Vec<i64> = errors
        .iter()
        .map(|e| i64::try_from(e.row).unwrap_or(i64::MAX))
        .collect();
    let matric: Vec<Option<&str>> = errors.iter().map(|e| e.matric.as_deref()).collect();
    let kind: Vec<String> = errors.iter().map(|e| kind_name(e.kind)).collect();
    let message: Vec<&str> = errors.iter().map(|e| e.message.as_str()).collect();
    sqlx::query(
        "INSERT INTO row_errors (sheet_id, ordinal, row_no, matric, kind, message) \
         SELECT $1, o, r, m, k, t FROM UNNEST($2::int4[], $3::int8[], $4::text[], $5::text[], \
         $6::text[]) AS x(o, r, m, k, t)",
    )
    .bind(sheet_id)
    .bind(ordinal)
    .bind(row_no)
    .bind(matric)
    .bind(kind)
    .bind(message)
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    Ok(())
}
