//! The notifier port: a short message to one student (their results link after a
//! publication). Adapters deliver it by some channel — a file the operator can read, or
//! email through an SMTP relay — and say only whether it left; nothing here may block a
//! request: callers send from a background task, with a deadline of their own.

use crate::error::PortResult;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// One message to one person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    /// The account the message is for (a student's matric number).
    pub username: String,
    /// Where an email goes; `None` when the institution gave no address (a channel that
    /// needs one refuses the message as [`crate::PortError::Invalid`]).
    pub address: Option<String>,
    pub subject: String,
    /// Plain text: links stay readable and clickable in every mail client.
    pub text: String,
}

#[async_trait]
pub trait Notifier: Send + Sync {
    /// Delivers one message, or says why it could not (`Unavailable`: worth trying later;
    /// `Invalid`: this message can never be delivered by this channel).
    async fn send(&self, notice: &Notice) -> PortResult<()>;

    /// The channel's name for logs and metrics (`file`, `smtp`).
    fn channel(&self) -> &'static str;
}
