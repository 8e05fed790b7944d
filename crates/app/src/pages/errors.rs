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

/// The 405 page of a page address asked with a method it does not answer.
pub fn browser_wrong_method() -> Response {
    let mut res = PageError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "Not available this way",
        "This page cannot be used like that. Open it from a link or a form of the portal.",
    )
    .into_response();
    super::headers::add(res.headers_mut());
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn page(e: ServiceError) -> (StatusCode, Option<String>, String) {
        let res = PageError::from(e).into_response();
        let status = res.status();
        let retry = res
            .headers()
            .get(header::RETRY_AFTER)
            .map(|v| v.to_str().unwrap().to_string());
        let body = axum::body::to_bytes(res.into_body(), 1 << 20)
            .await
            .unwrap();
        (status, retry, String::from_utf8(body.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn outages_and_failures_get_pages_that_say_when_to_retry_and_hide_the_cause() {
        let cause = "connection refused: postgres://db.internal:5432";
        let (status, retry, body) = page(ServiceError::Unavailable(cause.into())).await;
        assert_eq!(
            (status, retry.as_deref()),
            (StatusCode::SERVICE_UNAVAILABLE, Some("5"))
        );
        assert!(
            body.contains("<h1>The portal is unavailable</h1>"),
            "{body}"
        );
        assert!(body.contains("Please try again in 5 seconds."), "{body}");
        assert!(!body.contains("db.internal"), "{body}");

        let (status, retry, body) = page(ServiceError::Internal(anyhow::anyhow!(
            "SELECT failed: {cause}"
        )))
        .await;
        assert_eq!((status, retry), (StatusCode::INTERNAL_SERVER_ERROR, None));
        assert!(body.contains("Something went wrong on our side"), "{body}");
        assert!(
            !body.contains("SELECT") && !body.contains("db.internal"),
            "{body}"
        );

        let busy = ServiceError::Overloaded {
            message: "too many people are signing in right now".into(),
            retry_after_secs: 2,
        };
        let (status, retry, body) = page(busy).await;
        assert_eq!(
            (status, retry.as_deref()),
            (StatusCode::SERVICE_UNAVAILABLE, Some("2"))
        );
        assert!(
            body.contains("too many people are signing in right now"),
            "{body}"
        );
    }
}
