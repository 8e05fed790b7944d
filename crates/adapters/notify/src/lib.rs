//! Notifier adapters: where a message to a student goes.
//!
//! - [`FileNotifier`] (the default): appends one JSON line per message to a file
//!   (`data_dir/outbox.jsonl`), so an institution without a mail relay can hand the links on
//!   by other means (a bulk-SMS gateway, a script) and an operator can see what was sent.
//! - [`SmtpNotifier`]: email through the institution's SMTP relay with lettre.
//!
//! Neither ever logs a message's text: it carries a results link, which opens a student's
//! results to whoever holds it.

#![forbid(unsafe_code)]

mod file;
mod smtp;

pub use file::FileNotifier;
pub use smtp::SmtpNotifier;
