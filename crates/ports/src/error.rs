//! The one error type every port returns. Variants say what the caller should do: show the
//! person a 404/409/422, or treat the engine as unavailable and retry later.

#[derive(Debug, thiserror::Error)]
pub enum PortError {
    #[error("{0} not found")]
    NotFound(String),
    /// The request conflicts with the current state (a duplicate, a stale workflow state).
    #[error("{0}")]
    Conflict(String),
    /// The data is not acceptable (a reference to something that does not exist, …).
    #[error("{0}")]
    Invalid(String),
    /// The engine could not be reached or failed; worth retrying later.
    #[error("{engine} is unavailable: {message}")]
    Unavailable {
        engine: &'static str,
        message: String,
    },
}

impl PortError {
    pub fn unavailable(engine: &'static str, e: impl std::fmt::Display) -> Self {
        PortError::Unavailable {
            engine,
            message: e.to_string(),
        }
    }

    /// Whether retrying the same call later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, PortError::Unavailable { .. })
    }
}

pub type PortResult<T> = Result<T, PortError>;
