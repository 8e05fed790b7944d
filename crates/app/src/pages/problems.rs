//! Refusals made for pages by the layers they share with the API (admission control: the
//! per-client rate limit, the in-flight limit and the request deadline), which answer with
//! problem bodies: turned here into the same HTML error page a handler's refusal gets,
//! keeping the status, the detail and `Retry-After`.
//!
//! This must never pass a problem body through to a browser page, nor touch an answer that
//! is not a problem.

use super::errors::PageError;
use crate::http::error::PROBLEM_JSON;
use axum::extract::Request;
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Problem bodies of the admission layers are a few hundred bytes.
const MAX_PROBLEM_BYTES: usize = 64 * 1024;

pub async fn layer(req: Request, next: Next) -> Response {
    let res = next.run(req).await;
    let is_problem = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(PROBLEM_JSON.as_bytes()));
    if !is_problem {
        return res;
    }
    let status = res.status();
    let retry = res
        .headers()
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    let body = axum::body::to_bytes(res.into_body(), MAX_PROBLEM_BYTES)
        .await
        .unwrap_or_default();
    let detail = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v["detail"].as_str().map(str::to_string))
        .unwrap_or_else(|| "The portal could not answer this request.".into());
    let heading = match status.as_u16() {
        429 => "Too many requests",
        503 => "The portal is busy",
        _ => status.canonical_reason().unwrap_or("Error"),
    };
    let mut page = PageError::new(status, heading, detail);
    page.retry_after_secs = retry;
    let mut res = page.into_response();
    super::headers::add(res.headers_mut());
    res
}
