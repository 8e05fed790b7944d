//! Reading stored columns back into domain values. A value that fails to parse here was not
//! written by this adapter (or the file is damaged): it is reported, never guessed at.

use crate::error::corrupt;
use eportal_core::model::{AmendedMark, CourseRecord, CourseTerm};
use eportal_core::workflow::WorkflowState;
use eportal_core::{AcademicSession, CourseCode, MatricNo, Role, Score, Semester};
use eportal_ports::error::PortResult;
use sqlx::sqlite::SqliteRow;
use sqlx::Row;

pub(crate) fn get<'r, T>(row: &'r SqliteRow, col: &str) -> PortResult<T>
where
    T: sqlx::Decode<'r, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite>,
{
    row.try_get(col).map_err(|e| corrupt(col, e))
}

pub(crate) fn matric(s: &str) -> PortResult<MatricNo> {
    MatricNo::parse(s).map_err(|e| corrupt("matric number", e))
}

pub(crate) fn course_code(s: &str) -> PortResult<CourseCode> {
    CourseCode::parse(s).map_err(|e| corrupt("course code", e))
}

pub(crate) fn session(y: i64) -> PortResult<AcademicSession> {
    u16::try_from(y)
        .map_err(|e| corrupt("session", e))
        .and_then(|y| AcademicSession::new(y).map_err(|e| corrupt("session", e)))
}

pub(crate) fn semester(n: i64) -> PortResult<Semester> {
    Semester::from_number(n).map_err(|e| corrupt("semester", e))
}

pub(crate) fn score(t: i64) -> PortResult<Score> {
    u16::try_from(t)
        .map(Score::from_tenths)
        .map_err(|e| corrupt("score", e))
}

pub(crate) fn small<T: TryFrom<i64>>(what: &str, v: i64) -> PortResult<T>
where
    T::Error: std::fmt::Display,
{
    T::try_from(v).map_err(|e| corrupt(what, e))
}

pub(crate) fn state(s: &str) -> PortResult<WorkflowState> {
    WorkflowState::parse(s).ok_or_else(|| corrupt("workflow state", s))
}

pub(crate) fn roles(csv: &str) -> PortResult<Vec<Role>> {
    csv.split(',')
        .filter(|r| !r.is_empty())
        .map(|r| Role::parse(r).map_err(|e| corrupt("role", e)))
        .collect()
}

pub(crate) fn roles_csv(roles: &[Role]) -> String {
    roles
        .iter()
        .map(|r| r.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

pub(crate) fn term_of(row: &SqliteRow) -> PortResult<CourseTerm> {
    Ok(CourseTerm {
        course_code: course_code(&get::<String>(row, "course_code")?)?,
        session: session(get(row, "session")?)?,
        semester: semester(get(row, "semester")?)?,
    })
}

/// Columns a [`CourseRecord`] is read from, for `SELECT {RECORD_COLUMNS} FROM <t> r JOIN
/// courses c ON c.code = r.course_code LEFT JOIN course_results w ON …`.
pub(crate) const RECORD_COLUMNS: &str = "r.matric_no, r.course_code, c.title, c.units, \
     r.session, r.semester, r.ca, r.exam, r.total, r.grade, r.points, r.version, r.sheet_id, \
     COALESCE(w.state, 'draft') AS state, a.id AS amendment_id, a.applied_at_ms AS amended_at_ms";

/// The joins [`RECORD_COLUMNS`] need, after `FROM <table> r`.
pub(crate) const RECORD_JOINS: &str = "JOIN courses c ON c.code = r.course_code \
     LEFT JOIN course_results w ON w.course_code = r.course_code \
     AND w.session = r.session AND w.semester = r.semester \
     LEFT JOIN amendments a ON a.sheet_id = r.sheet_id AND a.status = 'applied'";

pub(crate) fn record(row: &SqliteRow) -> PortResult<CourseRecord> {
    Ok(CourseRecord {
        matric_no: matric(&get::<String>(row, "matric_no")?)?,
        course_code: course_code(&get::<String>(row, "course_code")?)?,
        course_title: get(row, "title")?,
        units: small("units", get(row, "units")?)?,
        session: session(get(row, "session")?)?,
        semester: semester(get(row, "semester")?)?,
        ca: score(get(row, "ca")?)?,
        exam: score(get(row, "exam")?)?,
        total: score(get(row, "total")?)?,
        grade: get(row, "grade")?,
        points: small("points", get(row, "points")?)?,
        version: small("version", get(row, "version")?)?,
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

/// Binds a list as one JSON array parameter, read in SQL with `json_each(?)`: one statement
/// and one parameter however long the list is.
pub(crate) fn json_list<T: serde::Serialize>(items: &[T]) -> String {
    serde_json::to_string(items).expect("plain values always serialise")
}
