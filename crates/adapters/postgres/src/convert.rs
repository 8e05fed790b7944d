//! Between PostgreSQL columns and domain values: sessions as start years, semesters as 1/2,
//! scores as tenths, roles and states as their names. Reading a row back re-validates every
//! value, so a hand-edited row shows up as a clear error instead of a wrong result.
//!
//! Nothing here talks to the database.

use crate::error::db;
use eportal_core::model::{AmendedMark, CourseRecord, CourseTerm};
use eportal_core::sheet::{RowError, RowErrorKind};
use eportal_core::workflow::WorkflowState;
use eportal_core::{AcademicSession, CourseCode, MatricNo, Role, Score, Semester};
use eportal_ports::error::PortResult;
use eportal_ports::{PortError, SheetMode, SheetStatus, SheetSummary};
use sqlx::postgres::PgRow;
use sqlx::Row;

fn corrupt(what: &str, value: impl std::fmt::Display, why: impl std::fmt::Display) -> PortError {
    PortError::Invalid(format!("stored {what} '{value}' is not valid: {why}"))
}

/// The three key columns of a course term: code, session start year, semester number.
pub(crate) fn term_key(term: &CourseTerm) -> (String, i32, i32) {
    (
        term.course_code.as_str().to_string(),
        i32::from(term.session.start_year()),
        i32::from(term.semester.number()),
    )
}

pub(crate) fn get<'r, T>(row: &'r PgRow, col: &str) -> PortResult<T>
where
    T: sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
{
    row.try_get(col).map_err(db)
}

pub(crate) fn session(year: i32) -> PortResult<AcademicSession> {
    u16::try_from(year)
        .map_err(|e| corrupt("session", year, e))
        .and_then(|y| AcademicSession::new(y).map_err(|e| corrupt("session", year, e)))
}

pub(crate) fn semester(n: i32) -> PortResult<Semester> {
    Semester::from_number(i64::from(n)).map_err(|e| corrupt("semester", n, e))
}

pub(crate) fn matric(s: &str) -> PortResult<MatricNo> {
    MatricNo::parse(s).map_err(|e| corrupt("matric number", s, e))
}

pub(crate) fn course_code(s: &str) -> PortResult<CourseCode> {
    CourseCode::parse(s).map_err(|e| corrupt("course code", s, e))
}

pub(crate) fn score(t: i32) -> PortResult<Score> {
    u16::try_from(t)
        .map(Score::from_tenths)
        .map_err(|e| corrupt("score", t, e))
}

pub(crate) fn small<T: TryFrom<i32>>(what: &str, v: i32) -> PortResult<T>
where
    T::Error: std::fmt::Display,
{
    T::try_from(v).map_err(|e| corrupt(what, v, e))
}

pub(crate) fn count<T: TryFrom<i64>>(what: &str, v: i64) -> PortResult<T>
where
    T::Error: std::fmt::Display,
{
    T::try_from(v).map_err(|e| corrupt(what, v, e))
}

pub(crate) fn roles(names: &[String]) -> PortResult<Vec<Role>> {
    names
        .iter()
        .map(|n| Role::parse(n).map_err(|e| corrupt("role", n, e)))
        .collect()
}

pub(crate) fn role_names(roles: &[Role]) -> Vec<String> {
    roles.iter().map(|r| r.as_str().to_string()).collect()
}

pub(crate) fn state(s: &str) -> PortResult<WorkflowState> {
    WorkflowState::parse(s).ok_or_else(|| corrupt("workflow state", s, "unknown state"))
}

pub(crate) fn status(s: &str) -> PortResult<SheetStatus> {
    SheetStatus::parse(s).ok_or_else(|| corrupt("sheet status", s, "unknown status"))
}

pub(crate) fn kind_name(kind: RowErrorKind) -> String {
    match serde_json::to_value(kind) {
        Ok(serde_json::Value::String(s)) => s,
        _ => format!("{kind:?}"),
    }
}

pub(crate) fn kind(s: &str) -> PortResult<RowErrorKind> {
    serde_json::from_value(serde_json::Value::String(s.to_string()))
        .map_err(|e| corrupt("row error kind", s, e))
}

pub(crate) fn term(row: &PgRow) -> PortResult<CourseTerm> {
    Ok(CourseTerm {
        course_code: course_code(&get::<String>(row, "course_code")?)?,
        session: session(get(row, "session")?)?,
        semester: semester(get(row, "semester")?)?,
    })
}

/// The columns [`sheet_summary`] reads, for `SELECT` and `RETURNING` lists.
pub(crate) const SHEET_COLUMNS: &str = "id, course_code, session, semester, sha256, size_bytes, \
     filename, uploaded_by, uploaded_at_ms, status, rows_total, rows_accepted, rows_rejected, \
     message, processed_at_ms, superseded_by, mode, removals_confirmed, changes";

pub(crate) fn sheet_summary(row: &PgRow) -> PortResult<SheetSummary> {
    Ok(SheetSummary {
        id: get(row, "id")?,
        term: term(row)?,
        sha256: get(row, "sha256")?,
        size_bytes: count("sheet size", get(row, "size_bytes")?)?,
        filename: get(row, "filename")?,
        uploaded_by: get(row, "uploaded_by")?,
        uploaded_at_ms: get(row, "uploaded_at_ms")?,
        status: status(&get::<String>(row, "status")?)?,
        rows_total: small("row count", get(row, "rows_total")?)?,
        rows_accepted: small("row count", get(row, "rows_accepted")?)?,
        rows_rejected: small("row count", get(row, "rows_rejected")?)?,
        message: get(row, "message")?,
        processed_at_ms: get(row, "processed_at_ms")?,
        superseded_by: get(row, "superseded_by")?,
        mode: {
            let m = get::<String>(row, "mode")?;
            SheetMode::parse(&m).ok_or_else(|| corrupt("sheet mode", &m, "unknown mode"))?
        },
        removals_confirmed: get(row, "removals_confirmed")?,
        changes: get::<Option<String>>(row, "changes")?
            .map(|c| serde_json::from_str(&c).map_err(|e| corrupt("sheet changes", &c, e)))
            .transpose()?,
    })
}

pub(crate) fn row_error(row: &PgRow) -> PortResult<RowError> {
    Ok(RowError {
        row: count("row number", get(row, "row_no")?)?,
        matric: get(row, "matric")?,
        kind: kind(&get::<String>(row, "kind")?)?,
        message: get(row, "message")?,
    })
}

/// `SELECT` of what [`course_record`] reads from `table` (aliased `v`: `current_scores` or
/// `score_versions`, which share these columns), with its course and the course result's
/// workflow state (`draft` when nothing has happened yet).
pub(crate) fn record_select(table: &str) -> String {
    format!(
        "SELECT v.matric_no, v.course_code, c.title AS course_title, c.units, v.session, \
         v.semester, v.ca, v.exam, v.total, v.grade, v.points, v.version, v.sheet_id, \
         COALESCE(r.state, 'draft') AS state, a.id AS amendment_id, \
         a.applied_at_ms AS amended_at_ms \
         FROM {table} v \
         JOIN courses c ON c.code = v.course_code \
         LEFT JOIN course_results r ON r.course_code = v.course_code \
              AND r.session = v.session AND r.semester = v.semester \
         LEFT JOIN amendments a ON a.sheet_id = v.sheet_id AND a.status = 'applied'"
    )
}

pub(crate) fn course_record(row: &PgRow) -> PortResult<CourseRecord> {
    Ok(CourseRecord {
        matric_no: matric(&get::<String>(row, "matric_no")?)?,
        course_code: course_code(&get::<String>(row, "course_code")?)?,
        course_title: get(row, "course_title")?,
        units: small("course units", get(row, "units")?)?,
        session: session(get(row, "session")?)?,
        semester: semester(get(row, "semester")?)?,
        ca: score(get(row, "ca")?)?,
        exam: score(get(row, "exam")?)?,
        total: score(get(row, "total")?)?,
        grade: get(row, "grade")?,
        points: small("grade points", get(row, "points")?)?,
        version: small("record version", get(row, "version")?)?,
        sheet_id: get(row, "sheet_id")?,
        state: state(&get::<String>(row, "state")?)?,
        amended: match (get(row, "amendment_id")?, get(row, "amended_at_ms")?) {
            (Some(amendment_id), Some(at_ms)) => Some(AmendedMark {
                amendment_id,
                at_ms,
            }),
            _ => None,
        },
    })
}
