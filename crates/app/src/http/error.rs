//! The one error type of the HTTP edge: every refusal and failure becomes an RFC 9457
//! problem (`application/problem+json` with `type`, `title`, `status`, `detail` and, for
//! field problems, `errors`), whether it comes from a use case ([`ServiceError`]), from
//! axum's extractors (bad JSON, bad path or query values) or from the admission layers.
//!
//! This module must never put an internal cause (SQL, engine addresses, panics) into a
//! response body: internal errors are logged with their cause chain and answered with a
//! generic detail.

use crate::services::ServiceError;
use axum::extract::rejection::{BytesRejection, JsonRejection};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// The media type of problem bodies.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// The `WWW-Authenticate` challenge sent with every 401.
pub const BEARER_CHALLENGE: &str = r#"Bearer realm="eportal""#;

/// One field (parameter, body member) that was not acceptable, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub name: String,
    pub reason: String,
}

impl FieldError {
    pub fn new(name: impl Into<String>, reason: impl Into<String>) -> Self {
        FieldError {
            name: name.into(),
            reason: reason.into(),
        }
    }
}

#[derive(Debug, Serialize)]
struct ProblemBody<'a> {
    #[serde(rename = "type")]
    kind: String,
    title: &'a str,
    status: u16,
    detail: &'a str,
    #[serde(skip_serializing_if = "<[FieldError]>::is_empty")]
    errors: &'a [FieldError],
}

/// A problem answer; build it with the constructors, or convert a [`ServiceError`].
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    /// Short machine-readable name; the problem `type` is `urn:eportal:problem:{slug}`.
    pub slug: &'static str,
    pub detail: String,
    pub errors: Vec<FieldError>,
    pub retry_after_secs: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, slug: &'static str, detail: impl Into<String>) -> Self {
        ApiError {
            status,
            slug,
            detail: detail.into(),
            errors: Vec::new(),
            retry_after_secs: None,
        }
    }

    pub fn with_retry_after(mut self, secs: u64) -> Self {
        self.retry_after_secs = Some(secs.max(1));
        self
    }

    /// 400 naming the parameters that were wrong.
    pub fn invalid_params(errors: Vec<FieldError>) -> Self {
        let names: Vec<&str> = errors.iter().map(|e| e.name.as_str()).collect();
        let detail = match errors.as_slice() {
            [one] => format!("{}: {}", one.name, one.reason),
            _ => format!("these parameters are not acceptable: {}", names.join(", ")),
        };
        ApiError {
            errors,
            ..ApiError::new(StatusCode::BAD_REQUEST, "invalid-parameters", detail)
        }
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", detail)
    }

    /// 500 with a generic detail; the cause chain goes to the log only.
    pub fn internal(cause: &anyhow::Error) -> Self {
        tracing::error!(
            error = format!("{cause:#}"),
            "internal error while answering a request"
        );
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "something went wrong on our side; it has been logged. Please try again, and quote the x-request-id header if it keeps happening",
        )
    }

    fn title(&self) -> &'static str {
        self.status.canonical_reason().unwrap_or("Error")
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        use StatusCode as S;
        match e {
            ServiceError::NotFound(m) => ApiError::new(S::NOT_FOUND, "not-found", m),
            ServiceError::Forbidden(m) => ApiError::new(S::FORBIDDEN, "forbidden", m),
            ServiceError::Conflict(m) => ApiError::new(S::CONFLICT, "conflict", m),
            ServiceError::Invalid(m) => ApiError::new(S::UNPROCESSABLE_ENTITY, "invalid", m),
            ServiceError::TooLarge { message } => {
                ApiError::new(S::PAYLOAD_TOO_LARGE, "too-large", message)
            }
            ServiceError::UnsupportedMedia { message } => {
                ApiError::new(S::UNSUPPORTED_MEDIA_TYPE, "unsupported-media-type", message)
            }
            e @ ServiceError::BadCredentials => ApiError::unauthorized(e.to_string()),
            ServiceError::Overloaded {
                message,
                retry_after_secs,
            } => ApiError::new(S::SERVICE_UNAVAILABLE, "overloaded", message)
                .with_retry_after(retry_after_secs),
            ServiceError::Throttled {
                message,
                retry_after_secs,
            } => ApiError::new(S::TOO_MANY_REQUESTS, "too-many-sign-ins", message)
                .with_retry_after(retry_after_secs),
            ServiceError::Unavailable(cause) => {
                // The cause names an engine and its address: for the log, not the client.
                tracing::warn!(error = %cause, "an engine is unavailable");
                ApiError::new(
                    S::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "the portal cannot reach one of its services right now; please try again shortly",
                )
                .with_retry_after(5)
            }
            ServiceError::Internal(cause) => ApiError::internal(&cause),
        }
    }
}

/// What a buffered body failed on, in words (too large, or cut off).
pub fn body_problem(e: &BytesRejection, limit_hint: Option<usize>) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        let detail = match limit_hint {
            Some(n) => format!(
                "the request body is larger than the {} accepted here",
                eportal_core::sheet::Size(n as u64)
            ),
            None => "the request body is larger than accepted here".to_string(),
        };
        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too-large", detail)
    } else {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad-body",
            "the request body could not be read completely; send it again",
        )
    }
}

/// The innermost message of an error chain (serde's own words about the JSON).
fn root_message(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        use StatusCode as S;
        match &r {
            JsonRejection::JsonDataError(e) => ApiError::new(
                S::UNPROCESSABLE_ENTITY,
                "invalid-body",
                format!(
                    "the JSON body does not have the expected fields: {}",
                    root_message(e)
                ),
            ),
            JsonRejection::JsonSyntaxError(e) => ApiError::new(
                S::BAD_REQUEST,
                "malformed-json",
                format!("the request body is not valid JSON: {}", root_message(e)),
            ),
            JsonRejection::MissingJsonContentType(_) => ApiError::new(
                S::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "send the body as JSON with the header Content-Type: application/json",
            ),
            JsonRejection::BytesRejection(b) => body_problem(b, None),
            _ => ApiError::new(r.status(), "bad-body", r.body_text()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ProblemBody {
            kind: format!("urn:eportal:problem:{}", self.slug),
            title: self.title(),
            status: self.status.as_u16(),
            detail: &self.detail,
            errors: &self.errors,
        };
        let bytes = serde_json::to_vec(&body).expect("a problem body always serialises");
        let mut res = (self.status, bytes).into_response();
        let h = res.headers_mut();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if let Some(secs) = self.retry_after_secs {
            h.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            h.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(BEARER_CHALLENGE),
            );
        }
        res
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    async fn parts(e: ApiError) -> (StatusCode, axum::http::HeaderMap, serde_json::Value) {
        let res = e.into_response();
        let (parts, body) = res.into_parts();
        let bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap();
        (
            parts.status,
            parts.headers,
            serde_json::from_slice(&bytes).unwrap(),
        )
    }

    #[tokio::test]
    async fn service_errors_map_to_their_status_codes() {
        let cases = [
            (ServiceError::NotFound("x".into()), 404),
            (ServiceError::Forbidden("x".into()), 403),
            (ServiceError::Conflict("x".into()), 409),
            (ServiceError::Invalid("x".into()), 422),
            (
                ServiceError::TooLarge {
                    message: "x".into(),
                },
                413,
            ),
            (
                ServiceError::UnsupportedMedia {
                    message: "x".into(),
                },
                415,
            ),
            (ServiceError::BadCredentials, 401),
            (
                ServiceError::Overloaded {
                    message: "x".into(),
                    retry_after_secs: 3,
                },
                503,
            ),
            (
                ServiceError::Throttled {
                    message: "x".into(),
                    retry_after_secs: 300,
                },
                429,
            ),
        ];
        for (e, code) in cases {
            let (status, _, body) = parts(e.into()).await;
            assert_eq!(status.as_u16(), code);
            assert_eq!(body["status"], code);
        }
    }

    #[tokio::test]
    async fn internal_causes_never_reach_the_client() {
        let cause = anyhow::anyhow!("password authentication failed for user postgres at 10.0.0.5");
        let (status, headers, body) = parts(ServiceError::Internal(cause).into()).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(headers[header::CONTENT_TYPE], PROBLEM_JSON);
        let text = body.to_string();
        assert!(
            !text.contains("postgres") && !text.contains("10.0.0.5"),
            "{text}"
        );
        let (status, headers, body) =
            parts(ServiceError::Unavailable("redis at 10.0.0.6 refused".into()).into()).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(headers.contains_key(header::RETRY_AFTER));
        assert!(!body.to_string().contains("10.0.0.6"));
    }

    #[tokio::test]
    async fn problems_carry_the_rfc_9457_members() {
        let e = ApiError::invalid_params(vec![FieldError::new("limit", "'x' should be a number")]);
        let (status, headers, body) = parts(e).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(headers[header::CONTENT_TYPE], PROBLEM_JSON);
        assert_eq!(body["type"], "urn:eportal:problem:invalid-parameters");
        assert_eq!(body["title"], "Bad Request");
        assert_eq!(body["detail"], "limit: 'x' should be a number");
        assert_eq!(body["errors"][0]["name"], "limit");
        let (_, headers, body) = parts(ApiError::unauthorized("sign in")).await;
        assert_eq!(headers[header::WWW_AUTHENTICATE], BEARER_CHALLENGE);
        assert!(body.get("errors").is_none(), "no empty errors member");
    }
}
