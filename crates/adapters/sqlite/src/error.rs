//! Turning sqlx errors into port errors: constraint failures are the caller's data
//! (Invalid/Conflict), everything else is the engine (Unavailable). Messages must never
//! carry row contents a caller did not send (no password hashes, no scores of others).

use eportal_ports::PortError;

pub(crate) const ENGINE: &str = "SQLite";

pub(crate) fn db(e: sqlx::Error) -> PortError {
    if let sqlx::Error::Database(d) = &e {
        use sqlx::error::ErrorKind;
        match d.kind() {
            ErrorKind::ForeignKeyViolation => {
                return PortError::Invalid("a row refers to something that does not exist".into())
            }
            ErrorKind::UniqueViolation => {
                return PortError::Conflict(format!("already exists: {}", d.message()))
            }
            ErrorKind::CheckViolation | ErrorKind::NotNullViolation => {
                return PortError::Invalid(format!("a value is not acceptable: {}", d.message()))
            }
            _ => {}
        }
    }
    PortError::unavailable(ENGINE, e)
}

/// A stored value this code did not write (a hand-edited or corrupted row).
pub(crate) fn corrupt(what: &str, detail: impl std::fmt::Display) -> PortError {
    PortError::unavailable(ENGINE, format!("stored {what} is unreadable: {detail}"))
}
