//! Reading a request's body before the request is admitted: the whole body must arrive within
//! `limits.body_timeout_ms` (or `408`, and the connection is closed) and within the route's
//! size limit (or `413`), and only then does the request take one of the in-flight slots.
//! So a thousand clients that never finish their bodies hold connections (bounded by the
//! connection cap) but no slot of the work the portal can do at once.
//!
//! The bodies being held in memory at once are bounded too (`limits.max_buffered_bytes`,
//! counted in KiB as they arrive): a request that would pass the bound is answered `503` at
//! once, so many connections each sending a large body cannot exhaust memory.
//!
//! A route may name a gate that judges the sender from the headers alone (the upload route:
//! only staff may upload at all); it runs before a byte of the body is read, so a student's
//! 5 MB upload is refused without being received. This module must never read a body without
//! a bound on its size and on its time.

use super::error::ApiError;
use crate::services::Services;
use axum::body::{Body, Bytes};
use axum::extract::{MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Judges the sender of a request from its headers, before its body is read.
pub type Gate = fn(&Parts, &Services) -> Result<(), ApiError>;

/// What one route accepts as a body.
#[derive(Clone, Copy, Default)]
pub struct BodyRule {
    /// Largest body, in bytes; `None` is the API's JSON limit.
    pub limit: Option<usize>,
    pub gate: Option<Gate>,
}

/// The rules of every route, shared by the requests of one router.
#[derive(Clone)]
pub struct Bodies {
    services: Services,
    rules: Arc<HashMap<(Method, &'static str), BodyRule>>,
    /// KiB of request bodies that may be held in memory at once.
    budget: Arc<Semaphore>,
}

impl Bodies {
    pub fn new(services: Services, rules: HashMap<(Method, &'static str), BodyRule>) -> Self {
        let kib = services.config.limits.max_buffered_bytes.div_ceil(1024);
        Bodies {
            services,
            rules: Arc::new(rules),
            budget: Arc::new(Semaphore::new(kib.min(Semaphore::MAX_PERMITS))),
        }
    }
}

fn too_large(limit: usize) -> Response {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "too-large",
        format!(
            "the request body is larger than the {} accepted here",
            eportal_core::sheet::Size(limit as u64)
        ),
    )
    .into_response()
}

/// Reads the body under its route's rule, then hands the request on with the body in memory.
pub async fn read_body(State(b): State<Bodies>, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let route = parts
        .extensions
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_default();
    let rule = b
        .rules
        .get(&(parts.method.clone(), route.as_str()))
        .copied()
        .unwrap_or_default();
    if let Some(gate) = rule.gate {
        if let Err(refusal) = gate(&parts, &b.services) {
            // The unread body makes hyper close the connection after this answer.
            return refusal.into_response();
        }
    }
    if axum::body::HttpBody::size_hint(&body).exact() == Some(0) {
        return next.run(Request::from_parts(parts, body)).await;
    }
    let limits = &b.services.config.limits;
    let limit = rule.limit.unwrap_or(limits.max_json_bytes);
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return too_large(limit);
    }
    let ms = limits.body_timeout_ms;
    let read = collect(body, limit, b.budget.clone());
    match tokio::time::timeout(Duration::from_millis(ms), read).await {
        Ok(Ok((bytes, _held))) => {
            // `_held` keeps the body's share of the budget until the answer is ready.
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        Ok(Err(Collect::TooLarge)) => too_large(limit),
        Ok(Err(Collect::Busy)) => {
            b.services
                .metrics
                .http_refused
                .with_label_values(&["overload"])
                .inc();
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "overloaded",
                "the portal is receiving too much at once; please try again in a moment",
            )
            .with_retry_after(1)
            .into_response()
        }
        Ok(Err(Collect::Broken)) => ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad-body",
            "the request body could not be read completely; send it again",
        )
        .into_response(),
        Err(_) => {
            b.services
                .metrics
                .http_refused
                .with_label_values(&["body_timeout"])
                .inc();
            let mut res = ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "body-timeout",
                format!("the request body did not arrive within {ms} ms; send it again"),
            )
            .into_response();
            res.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            res
        }
    }
}

enum Collect {
    TooLarge,
    Broken,
    /// The memory budget for bodies is spent.
    Busy,
}

/// The body in memory, with its share of the budget (released when dropped).
async fn collect(
    body: Body,
    limit: usize,
    budget: Arc<Semaphore>,
) -> Result<(Bytes, Option<OwnedSemaphorePermit>), Collect> {
    let mut stream = body.into_data_stream();
    let mut buf = Vec::new();
    let mut held: Option<OwnedSemaphorePermit> = None;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| Collect::Broken)?;
        let len = buf.len() + chunk.len();
        if len > limit {
            return Err(Collect::TooLarge);
        }
        let have = held.as_ref().map_or(0, |p| p.num_permits());
        let need = len.div_ceil(1024).saturating_sub(have);
        if need > 0 {
            let more = u32::try_from(need).map_err(|_| Collect::Busy)?;
            let permit = budget
                .clone()
                .try_acquire_many_owned(more)
                .map_err(|_| Collect::Busy)?;
            match &mut held {
                Some(h) => h.merge(permit),
                None => held = Some(permit),
            }
        }
        buf.extend_from_slice(&chunk);
    }
    Ok((Bytes::from(buf), held))
}
