//! Turning PostgreSQL failures into [`PortError`]s a caller can act on: a broken reference
//! or a violated check is the caller's bad data (`Invalid`), a duplicate is a `Conflict`,
//! anything else means the engine is unavailable and the call may be retried.
//!
//! Nothing here may put a password into a message: URLs pass through [`redact_url`].

use crate::ENGINE;
use eportal_ports::PortError;
use sqlx::error::ErrorKind;

/// Maps a sqlx error to the port's error.
pub(crate) fn db(e: sqlx::Error) -> PortError {
    if let sqlx::Error::Database(d) = &e {
        let constraint = d.constraint().unwrap_or("");
        match d.kind() {
            ErrorKind::ForeignKeyViolation => {
                return PortError::Invalid(missing_reference(constraint, d.message()))
            }
            ErrorKind::CheckViolation | ErrorKind::NotNullViolation => {
                return PortError::Invalid(format!("value out of range: {}", d.message()))
            }
            ErrorKind::UniqueViolation => {
                return PortError::Conflict(format!("duplicate: {}", d.message()))
            }
            _ => {}
        }
    }
    PortError::unavailable(ENGINE, e)
}

/// A human sentence for a broken reference, by the constraint's name (see the migrations).
fn missing_reference(constraint: &str, raw: &str) -> String {
    let what = match constraint {
        "departments_faculty_fk" => "a department refers to a faculty that does not exist",
        "programmes_department_fk" => "a programme refers to a department that does not exist",
        "students_programme_fk" => "a student refers to a programme that does not exist",
        "staff_department_fk" => "a staff member refers to a department that does not exist",
        "courses_department_fk" => "a course refers to a department that does not exist",
        "allocations_course_fk" => "an allocation refers to a course that does not exist",
        "allocations_staff_fk" => "an allocation refers to a staff member who does not exist",
        "registrations_course_fk" => "a registration refers to a course that does not exist",
        "registrations_student_fk" => "a registration refers to a student who does not exist",
        "scores_refer_to_courses" => "a course with scores cannot be removed or renamed",
        "scores_refer_to_students" => "a student with scores cannot be removed or renamed",
        "scores_refer_to_sheets" => "a sheet whose scores are recorded cannot be removed",
        "scores_refer_to_score_versions" => "a score version that is current cannot be removed",
        "semester_results_student_fk" => "a result refers to a student who does not exist",
        "sheets_course_fk" => "a sheet refers to a course that does not exist",
        "course_results_course_fk" => "a course result refers to a course that does not exist",
        "documents_student_fk" => "a document refers to a student who does not exist",
        _ => return format!("reference to something that does not exist: {raw}"),
    };
    what.to_string()
}

/// `url` with any password (in the user part or a `password=` parameter) replaced by
/// `***`, fit for errors and logs.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rfind('@') {
        Some(at) => {
            let (userinfo, host) = authority.split_at(at);
            match userinfo.split_once(':') {
                Some((user, _password)) => format!("{user}:***{host}"),
                None => authority.to_string(),
            }
        }
        None => authority.to_string(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let params: Vec<String> = query
                .split('&')
                .map(|kv| match kv.split_once('=') {
                    Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                    _ => kv.to_string(),
                })
                .collect();
            format!("{path}?{}", params.join("&"))
        }
        None => tail.to_string(),
    };
    format!("{scheme}://{authority}{tail}")
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn passwords_never_survive_redaction() {
        assert_eq!(
            redact_url("postgres://app:s3cr@t@db.example:5432/eportal?sslmode=require"),
            "postgres://app:***@db.example:5432/eportal?sslmode=require"
        );
        assert_eq!(
            redact_url("postgres://postgres@127.0.0.1:5432/postgres"),
            "postgres://postgres@127.0.0.1:5432/postgres"
        );
        assert_eq!(
            redact_url("postgresql://127.0.0.1/x"),
            "postgresql://127.0.0.1/x"
        );
        assert_eq!(
            redact_url("postgres://db/x?user=app&password=hunter2&sslmode=disable"),
            "postgres://db/x?user=app&password=***&sslmode=disable"
        );
    }
}
