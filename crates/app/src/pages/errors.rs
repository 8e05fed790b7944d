//! The error pages a browser is shown: what happened and what to do next, in HTML, with the
//! status code the API would answer (403, 404, 429 and 503 with when to come back, 500). A
//! signed-out visitor is never shown an error page: they are sent to the sign-in page.
//!
//! Like the API's problem bodies, an error page must never show an internal cause (SQL,
//! engine addresses): internal errors are logged and shown in general words.

use super::view::Layout;
use crate::services::ServiceError;
use askama::Template;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    layout: Layout,
    status: u16,
    heading: &'a str,
    message: &'a str,
    retry_after: Option<u64>,
}

/// A refusal or failure of a page.
#[derive(Debug)]
pub struct PageError {
    pub status: StatusCode,
    pub heading: String,
    pub message: String,
    pub retry_after_secs: Option<u64>,
}

impl PageError {
    pub fn new(status: StatusCode, heading: &str, message: impl Into<String>) -> Self {
        PageError {
            status,
            heading: heading.into(),
            message: message.into(),
            retry_after_secs: None,
        }
    }

    pub fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after_secs = Some(secs.max(1));
        self
    }

    pub fn internal(cause: &anyhow::Error) -> Self {
        tracing::error!(
            error = format!("{cause:#}"),
            "internal error while answering a page"
        );
        PageError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Something went wrong",
            "Something went wrong on our side; it has been logged. Please try again in a moment.",
        )
    }

    pub fn not_found() -> Self {
        PageError::new(
            StatusCode::NOT_FOUND,
            "Page not found",
            "There is no page at this address. Check the address, or start again from the home page.",
        )
    }
}

impl From<ServiceError> for PageError {
    fn from(e: ServiceError) -> Self {
        use StatusCode as S;
        match e {
            ServiceError::NotFound(m) => PageError::new(S::NOT_FOUND, "Not found", m),
            ServiceError::Forbidden(m) => PageError::new(S::FORBIDDEN, "Not allowed", m),
            ServiceError::Conflict(m) => PageError::new(S::CONFLICT, "Not possible now", m),
            ServiceError::Invalid(m) => {
                PageError::new(S::UNPROCESSABLE_ENTITY, "Please check the form", m)
            }
            ServiceError::TooLarge { message } => {
                PageError::new(S::PAYLOAD_TOO_LARGE, "Too large", message)
            }
            ServiceError::UnsupportedMedia { message } => {
                PageError::new(S::UNSUPPORTED_MEDIA_TYPE, "Not a file we can read", message)
            }
            e @ ServiceError::BadCredentials => {
                PageError::new(S::UNAUTHORIZED, "Not signed in", e.to_string())
            }
            ServiceError::Overloaded {
                message,
                retry_after_secs,
            } => PageError::new(S::SERVICE_UNAVAILABLE, "The portal is busy", message)
                .retry_after(retry_after_secs),
            ServiceError::Throttled {
                message,
                retry_after_secs,
            } => PageError::new(S::TOO_MANY_REQUESTS, "Too many attempts", message)
                .retry_after(retry_after_secs),
            ServiceError::Unavailable(cause) => {
                tracing::warn!(error = %cause, "an engine is unavailable");
                PageError::new(
                    S::SERVICE_UNAVAILABLE,
                    "The portal is unavailable",
                    "The portal cannot reach one of its services right now.",
                )
                .retry_after(5)
            }
            ServiceError::Internal(cause) => PageError::internal(&cause),
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let page = ErrorPage {
            layout: Layout::anonymous(self.heading.clone()),
            status: self.status.as_u16(),
            heading: &self.heading,
            message: &self.message,
            retry_after: self.retry_after_secs,
        };
        let html = page.render().unwrap_or_else(|_| self.message.clone());
        let mut res = (
            self.status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            html,
        )
            .into_response();
        if let Some(secs) = self.retry_after_secs {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        res
    }
}

/// The 404 page of an address outside the API, with the pages' security headers (the
/// router's fallback is outside the pages' layers).
pub fn browser_not_found() -> Response {
    let mut res = PageError::not_found().into_response();
    super::headers::add(res.headers_mut());
    res
}
