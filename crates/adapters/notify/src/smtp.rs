//! Email through an SMTP relay. The URL says how to reach it, as lettre reads it:
//! `smtp://host:port` plain (a campus relay on a trusted network), `smtp://host:587?tls=required`
//! STARTTLS, `smtps://host:465` implicit TLS, with `user:password@` when the relay wants a
//! sign-in. TLS certificates are checked against the system's trust store.

use async_trait::async_trait;
use eportal_ports::{Notice, Notifier, PortError};
use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::time::Duration;

pub struct SmtpNotifier {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpNotifier {
    /// Reads the relay's URL and the sender's address; connects only when sending.
    pub fn new(url: &str, from: &str, timeout: Duration) -> Result<SmtpNotifier, String> {
        let from: Mailbox = from
            .parse()
            .map_err(|e| format!("'{from}' is not an email address: {e}"))?;
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| format!("not an SMTP URL lettre can use: {e}"))?
            .timeout(Some(timeout))
            .build();
        Ok(SmtpNotifier { transport, from })
    }
}

#[async_trait]
impl Notifier for SmtpNotifier {
    async fn send(&self, notice: &Notice) -> Result<(), PortError> {
        let Some(address) = notice.address.as_deref() else {
            return Err(PortError::Invalid(format!(
                "{} has no email address",
                notice.username
            )));
        };
        let to: Mailbox = address
            .parse()
            .map_err(|e| PortError::Invalid(format!("'{address}' is not an email address: {e}")))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(notice.subject.clone())
            .header(ContentType::TEXT_PLAIN)
            .body(notice.text.clone())
            .map_err(|e| PortError::Invalid(e.to_string()))?;
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            // A 5xx answer (no such mailbox, refused sender): sending again will not help.
            Err(e) if e.is_permanent() => Err(PortError::Invalid(format!(
                "the SMTP relay refused the message to {address}: {e}"
            ))),
            Err(e) => Err(PortError::unavailable("SMTP relay", e)),
        }
    }

    fn channel(&self) -> &'static str {
        "smtp"
    }
}
