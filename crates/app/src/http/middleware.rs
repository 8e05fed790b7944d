//! Middleware every request passes through: a request id (taken from `x-request-id` or
//! generated, echoed, and carried in the tracing span so the logs of one request, and of the
//! job it queued, can be found together), and Prometheus metrics per route, method and
//! status with latency histograms.
//!
//! Refused requests (401, 403, 404 at `debug`; 408, 429, 503 at `info`) are logged with their
//! route and client address, so `RUST_LOG=eportal=debug` shows who is being turned away.
//!
//! Metrics are labelled by the matched route (`/api/v1/students/{matric_no}/results`), never
//! by the raw path: a label per matric number would grow without bound.

use super::extract::RequestId;
use crate::services::Services;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use std::net::SocketAddr;
use std::time::Instant;
use tracing::Instrument;

pub static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// A client's id is kept only if it is short and plain, so it cannot forge log lines.
fn acceptable_id(v: &HeaderValue) -> Option<String> {
    let s = v.to_str().ok()?.trim();
    let plain = s
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
    (!s.is_empty() && s.len() <= 128 && plain).then(|| s.to_string())
}

fn new_id() -> String {
    use rand::RngCore;
    let mut b = [0u8; 12];
    rand::thread_rng().fill_bytes(&mut b);
    hex::encode(b)
}

/// The client's request id if it is acceptable, else a new one.
pub(super) fn request_id_of(headers: &axum::http::HeaderMap) -> String {
    headers
        .get(&X_REQUEST_ID)
        .and_then(acceptable_id)
        .unwrap_or_else(new_id)
}

/// Takes or makes the request id, runs the request inside a span carrying it, and echoes it.
pub async fn request_id(mut req: Request, next: Next) -> Response {
    let id = request_id_of(req.headers());
    req.extensions_mut().insert(RequestId(id.clone()));
    let span = tracing::info_span!(
        "http",
        request_id = %id,
        method = %req.method(),
        path = %req.uri().path(),
    );
    let mut res = next.run(req).instrument(span).await;
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(X_REQUEST_ID.clone(), v);
    }
    res
}

/// Counts the request and records its latency under its route, method and status.
pub async fn metrics(State(services): State<Services>, req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().cloned();
    let method = req.method().clone();
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(a)| *a);
    let client = move || peer.map(|a| a.ip().to_string()).unwrap_or_default();
    let started = Instant::now();
    let res = next.run(req).await;
    let route = route.as_ref().map_or("unmatched", MatchedPath::as_str);
    let status = res.status();
    record(
        &services,
        method.as_str(),
        route,
        status,
        started.elapsed(),
        client,
    );
    res
}

/// Counts an answered request under its route, method and status, records its latency, and
/// logs a refusal at the level its kind deserves. `client` is only asked for when logged.
pub(super) fn record(
    services: &Services,
    method: &str,
    route: &str,
    status: StatusCode,
    elapsed: std::time::Duration,
    client: impl FnOnce() -> String,
) {
    let m = &services.metrics;
    m.http_requests
        .with_label_values(&[method, route, status.as_str()])
        .inc();
    m.http_duration
        .with_label_values(&[method, route])
        .observe(elapsed.as_secs_f64());
    let ms = elapsed.as_millis() as u64;
    // Refusals, at levels an operator can turn on: overload and throttling (`info`) say the
    // portal is protecting itself; denials and misses (`debug`) are ordinary on a busy day.
    match status {
        StatusCode::TOO_MANY_REQUESTS
        | StatusCode::SERVICE_UNAVAILABLE
        | StatusCode::REQUEST_TIMEOUT => {
            tracing::info!(status = status.as_u16(), %method, route, client = client(), elapsed_ms = ms, "request refused");
            return;
        }
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN | StatusCode::NOT_FOUND => {
            tracing::debug!(status = status.as_u16(), %method, route, client = client(), elapsed_ms = ms, "request refused");
            return;
        }
        _ => {}
    }
    if status.is_server_error() {
        tracing::warn!(
            status = status.as_u16(),
            route,
            elapsed_ms = ms,
            "request answered with a server error"
        );
    } else {
        tracing::debug!(
            status = status.as_u16(),
            route,
            elapsed_ms = ms,
            "request answered"
        );
    }
}
