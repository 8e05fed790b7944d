//! Students and their results: the registry's paged student list, and one student's
//! published results with GPA, CGPA and class of degree.
//!
//! Matric numbers contain '/', so clients send them percent-encoded (`SCI%2F2021%2F0001`);
//! the router matches the encoded segment and axum decodes it before it reaches the handler.
//! Who may read what is decided by the services, never here.
//!
//! A student's results go out as the bytes the cache holds, with their strong `ETag` and
//! `Cache-Control: private, no-cache` (a browser may keep them but must ask again; a shared
//! cache must not keep them at all), so a refresh that changed nothing is a `304` without a
//! body. Results served from a kept copy while the store is failing say so in `Warning` and
//! `X-Eportal-Stale`.

use super::error::{ApiError, ApiResult, FieldError};
use super::extract::{ApiPath, Auth, QueryParams};
use super::RouteTable;
use crate::services::people::StudentPage;
use crate::services::results_cache::ResultsDoc;
use crate::services::Services;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::Response;
use axum::Json;
use eportal_core::MatricNo;

/// Students per page when the client does not say, and the most it may ask for.
const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 500;

pub(super) fn routes(t: RouteTable) -> RouteTable {
    t.route(Method::GET, "/api/v1/students", list).route(
        Method::GET,
        "/api/v1/students/{matric_no}/results",
        results,
    )
}

async fn list(
    State(s): State<Services>,
    Auth(who): Auth,
    q: QueryParams,
) -> ApiResult<Json<StudentPage>> {
    let mut errors = Vec::new();
    let limit = q.number("limit", DEFAULT_LIMIT, 1..=MAX_LIMIT, &mut errors);
    let offset = q.number("offset", 0, 0..=u32::MAX, &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::invalid_params(errors));
    }
    Ok(Json(s.list_students(&who, limit, offset).await?))
}

/// Ours: `1` on results served from a kept copy while the store is failing.
pub static X_EPORTAL_STALE: HeaderName = HeaderName::from_static("x-eportal-stale");
const PRIVATE_NO_CACHE: HeaderValue = HeaderValue::from_static("private, no-cache");
const STALE_WARNING: HeaderValue = HeaderValue::from_static("110 - \"Response is stale\"");

async fn results(
    State(s): State<Services>,
    Auth(who): Auth,
    ApiPath(matric): ApiPath<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let matric = MatricNo::parse(&matric)
        .map_err(|e| ApiError::invalid_params(vec![FieldError::new("matric_no", e.0)]))?;
    let doc = s.results_document(&who, &matric).await?;
    Ok(results_response(doc, headers.get(header::IF_NONE_MATCH)))
}

/// `200` with the cached bytes, or `304` when the client already holds them.
pub(super) fn results_response(doc: ResultsDoc, if_none_match: Option<&HeaderValue>) -> Response {
    let etag = HeaderValue::from_str(doc.etag()).ok();
    let unchanged = if_none_match
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| etag_matches(v, doc.etag()));
    let stale = doc.stale;
    let mut res = if unchanged {
        let mut r = Response::new(Body::empty());
        *r.status_mut() = StatusCode::NOT_MODIFIED;
        r
    } else {
        json_response(doc)
    };
    let h = res.headers_mut();
    if let Some(etag) = etag {
        h.insert(header::ETAG, etag);
    }
    h.insert(header::CACHE_CONTROL, PRIVATE_NO_CACHE);
    if stale {
        mark_stale(h);
    }
    res
}

/// A `200` with a cached document's JSON body, sent from its buffer without a copy.
pub(super) fn json_response(doc: ResultsDoc) -> Response {
    let (buf, at) = doc.into_parts();
    let mut r = Response::new(Body::from(Bytes::from(buf).slice(at..)));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// Marks an answer as served from the cache while the store is failing (possibly stale).
pub(super) fn mark_stale(h: &mut axum::http::HeaderMap) {
    h.insert(header::WARNING, STALE_WARNING);
    h.insert(X_EPORTAL_STALE.clone(), HeaderValue::from_static("1"));
}

/// Whether an `If-None-Match` list names `etag` (weak comparison, as RFC 9110 asks for
/// this header; `*` matches any current representation).
fn etag_matches(if_none_match: &str, etag: &str) -> bool {
    fn bare(t: &str) -> &str {
        let t = t.trim();
        t.strip_prefix("W/").unwrap_or(t)
    }
    let etag = bare(etag);
    if_none_match
        .split(',')
        .any(|t| t.trim() == "*" || bare(t) == etag)
}

#[cfg(test)]
mod tests {
    use super::etag_matches;

    #[test]
    fn if_none_match_lists_are_compared_weakly() {
        let tag = r#""0a1b""#;
        assert!(etag_matches(r#""0a1b""#, tag));
        assert!(etag_matches(r#"W/"0a1b""#, tag));
        assert!(etag_matches(r#""ffff", "0a1b""#, tag));
        assert!(etag_matches("*", tag));
        assert!(!etag_matches(r#""0a1c""#, tag));
        assert!(
            !etag_matches("0a1b", tag),
            "an unquoted tag is not the same tag"
        );
        assert!(!etag_matches("", tag));
    }
}
