//! Extractors of the API: the signed-in principal (bearer token), JSON bodies and query
//! parameters, each refusing with a problem body ([`ApiError`]) a person can act on, and the
//! parsing of domain values (matric numbers, course terms) out of paths.
//!
//! A token is verified by its signature, then its session version is compared with the
//! account's current one (`Services::session_current`: one cache read, the store only on a
//! miss), so a signed-out or revoked token is refused on every route that takes [`Auth`];
//! and a token signed while the account must change its password reaches only the routes
//! [`crate::services::forced_password::ALLOWED`] names.

use super::error::{ApiError, FieldError};
use crate::services::{Principal, Services};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use eportal_core::model::CourseTerm;
use eportal_core::{AcademicSession, CourseCode, Semester};
use serde::de::DeserializeOwned;

/// The request id of the request being handled (set by the request-id middleware).
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// The bearer token of a request, if it carries one.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The signed-in person; a handler that takes it answers 401 to anyone without a valid token.
#[derive(Debug, Clone)]
pub struct Auth(pub Principal);

impl FromRequestParts<Services> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, services: &Services) -> Result<Self, ApiError> {
        // The rate limiter may already have verified the token's signature for this request;
        // whether its session still stands is checked here either way.
        let principal = match parts.extensions.get::<Principal>() {
            Some(p) => p.clone(),
            None => {
                let Some(token) = bearer(&parts.headers) else {
                    return Err(ApiError::unauthorized(
                        "sign in first: send the token from POST /api/v1/auth/login as 'Authorization: Bearer <token>'",
                    ));
                };
                services.auth.verify(token).ok_or_else(|| {
                    ApiError::unauthorized(
                        "the bearer token is not valid or has expired; sign in again",
                    )
                })?
            }
        };
        if !services.session_current(&principal).await {
            return Err(ApiError::unauthorized(
                "this session has ended (signed out, password or roles changed, or ended by the registry); sign in again",
            ));
        }
        if !crate::services::forced_password::may_use(&principal, parts.uri.path()) {
            return Err(ApiError::new(
                axum::http::StatusCode::FORBIDDEN,
                "password-change-required",
                crate::services::forced_password::CHANGE_FIRST,
            ));
        }
        Ok(Auth(principal))
    }
}

/// The network address of the client (the peer of the connection), when known.
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub Option<std::net::IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
}

/// A JSON body whose rejections are problem bodies.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        axum::Json::<T>::from_request(req, state)
            .await
            .map(|axum::Json(v)| ApiJson(v))
            .map_err(ApiError::from)
    }
}

/// The query string as name/value pairs, for handlers that parse and name each parameter
/// themselves (so `?limit=abc` is answered with "limit: …", not a serde message).
pub struct QueryParams(pub Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for QueryParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<Vec<(String, String)>>::try_from_uri(&parts.uri)
            .map(|q| QueryParams(q.0))
            .map_err(|_| {
                ApiError::invalid_params(vec![FieldError::new(
                    "query",
                    "the query string is not valid URL encoding",
                )])
            })
    }
}

impl QueryParams {
    /// The value of `name` (the last one if repeated), trimmed; empty counts as absent.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// A whole number in `range`, `default` when absent; the error names the parameter.
    pub fn number(
        &self,
        name: &str,
        default: u32,
        range: std::ops::RangeInclusive<u32>,
        errors: &mut Vec<FieldError>,
    ) -> u32 {
        let Some(raw) = self.get(name) else {
            return default;
        };
        match raw.parse::<u32>() {
            Ok(n) if range.contains(&n) => n,
            _ => {
                errors.push(FieldError::new(
                    name,
                    format!(
                        "'{raw}' should be a whole number from {} to {}",
                        range.start(),
                        range.end()
                    ),
                ));
                default
            }
        }
    }
}

/// Parses a course, a session and a semester as people write them (`CSC201` or `CSC 201`,
/// `2024-2025` or `2024/2025`, `first` or `1`); every bad one is named.
pub fn course_term(
    course: Option<&str>,
    session: Option<&str>,
    semester: Option<&str>,
) -> Result<CourseTerm, ApiError> {
    let mut errors = Vec::new();
    let mut need = |name: &str, v: Option<&str>, example: &str| match v.map(str::trim) {
        Some(v) if !v.is_empty() => Some(v.to_string()),
        _ => {
            errors.push(FieldError::new(
                name,
                format!("is required (for example '{example}')"),
            ));
            None
        }
    };
    let course = need("course", course, "CSC201");
    let session = need("session", session, "2024-2025");
    let semester = need("semester", semester, "first");
    let course = course.and_then(|c| {
        CourseCode::parse(&c)
            .map_err(|e| errors.push(FieldError::new("course", e.0)))
            .ok()
    });
    let session = session.and_then(|s| {
        AcademicSession::parse(&s)
            .map_err(|e| errors.push(FieldError::new("session", e.0)))
            .ok()
    });
    let semester = semester.and_then(|s| {
        Semester::parse(&s)
            .map_err(|e| errors.push(FieldError::new("semester", e.0)))
            .ok()
    });
    match (course, session, semester) {
        (Some(course_code), Some(session), Some(semester)) if errors.is_empty() => Ok(CourseTerm {
            course_code,
            session,
            semester,
        }),
        _ => Err(ApiError::invalid_params(errors)),
    }
}

/// A course term in the form used in URL paths (`2024-2025`, never a '/').
pub fn term_path(term: &CourseTerm) -> String {
    format!(
        "{}/{}-{}/{}",
        term.course_code.as_str().replace(' ', ""),
        term.session.start_year(),
        term.session.start_year() + 1,
        term.semester
    )
}

/// Path parameters whose rejections are problem bodies.
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(ApiPath(v)),
            Err(r) if r.status().is_server_error() => Err(ApiError::internal(&anyhow::anyhow!(
                "path parameters do not fit the handler: {}",
                r.body_text()
            ))),
            Err(r) => Err(ApiError::new(
                axum::http::StatusCode::BAD_REQUEST,
                "invalid-path",
                format!(
                    "{}; check the address (percent-encode '/' in matric numbers as %2F)",
                    r.body_text()
                ),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn course_terms_accept_the_spellings_people_use() {
        let t = course_term(Some("csc201"), Some("2024-2025"), Some("First")).unwrap();
        assert_eq!(t.course_code.as_str(), "CSC 201");
        assert_eq!(t.session.start_year(), 2024);
        assert_eq!(t.semester, Semester::First);
        assert_eq!(term_path(&t), "CSC201/2024-2025/first");
        let again = course_term(Some("CSC 201"), Some("2024/25"), Some("1")).unwrap();
        assert_eq!(again, t);
    }

    #[test]
    fn every_bad_term_value_is_named() {
        let e = course_term(None, Some("2024-2026"), Some("third")).unwrap_err();
        let names: Vec<&str> = e.errors.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["course", "session", "semester"]);
        assert!(e.errors[0].reason.contains("required"));
    }
}
