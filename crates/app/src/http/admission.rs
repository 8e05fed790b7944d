//! Admission control of the API and the pages, so overload gives fast, honest refusals instead of a crash
//! or a hang: a global limit on requests in flight (load shedding: `503` + `Retry-After`),
//! a per-client rate limit (`429` + `Retry-After`), and a deadline on every request (`503`).
//! Every refusal is counted in `eportal_http_refused_total`.
//!
//! The rate limit is GCRA over the `RateLimits` port (in process, or on Redis so that every
//! portal shares it): a client may spend its whole minute's allowance at once, then earns one
//! request back every minute ÷ `limits.rate_limit_per_minute`, and a refusal says exactly
//! when the next request will be admitted.
//!
//! The order is part of the design (see `http::router`): a client's own rate limit comes
//! first, so a flooding client is refused by its limit and never takes a slot another client
//! needs; the body is read next (`http::body`), so a slow sender holds no slot; then the
//! in-flight limit and the deadline.
//!
//! The rate limiter fails open: if its engine cannot count, the request goes through (and
//! the failure is logged), because refusing everyone when a counter is unreachable would turn
//! a cache outage into a portal outage. This module must never wait for a free slot: a
//! request that cannot be admitted now is answered now.

use super::error::ApiError;
use super::extract::bearer;
use crate::services::Services;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use eportal_ports::rate::{Decision, Quota};
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// State of the admission layers, shared by every request of one router.
#[derive(Clone)]
pub struct Admission {
    pub services: Services,
    in_flight: Arc<Semaphore>,
}

impl Admission {
    pub fn new(services: Services) -> Self {
        let slots = services.config.limits.max_in_flight;
        Admission {
            services,
            in_flight: Arc::new(Semaphore::new(slots)),
        }
    }

    fn refused(&self, reason: &str) {
        self.services
            .metrics
            .http_refused
            .with_label_values(&[reason])
            .inc();
    }
}

/// Sheds load beyond `limits.max_in_flight` requests at once.
pub async fn in_flight(State(a): State<Admission>, req: Request, next: Next) -> Response {
    let Ok(_slot) = a.in_flight.clone().try_acquire_owned() else {
        return overloaded(&a);
    };
    next.run(req).await
}

impl Admission {
    /// An in-flight slot, held until dropped; `None` when every slot is taken.
    pub(super) fn slot(&self) -> Option<tokio::sync::SemaphorePermit<'_>> {
        self.in_flight.try_acquire().ok()
    }
}

/// The refusal when every in-flight slot is taken.
pub(super) fn overloaded(a: &Admission) -> Response {
    a.refused("overload");
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "overloaded",
        "the portal is busy right now; please try again in a moment",
    )
    .with_retry_after(1)
    .into_response()
}

/// Limits each client to `limits.rate_limit_per_minute` requests per minute. The client is
/// the signed-in account when the request carries a valid token (so a campus behind one NAT
/// address is not one client), otherwise the peer address.
pub async fn rate_limit(State(a): State<Admission>, mut req: Request, next: Next) -> Response {
    let principal = bearer(req.headers()).and_then(|t| a.services.auth.verify(t));
    let client = client_id(principal.as_ref().map(|p| p.username.as_str()), &req);
    if let Some(p) = principal {
        // Saves the handler verifying the same token again.
        req.extensions_mut().insert(p);
    }
    limit(&a, &client, req, next).await
}

/// The same limit for the pages, whose signed-in client is the account in the session
/// cookie: one person's pages and API calls share one allowance. (The session layer inside
/// still checks the cookie in full; a token is enough here to tell clients apart.) The
/// stylesheet and the icon are not counted: they cost nothing to serve, are cached by the
/// browser, and would only use up the allowance of a campus signing in from one address.
pub async fn page_rate_limit(State(a): State<Admission>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if path.starts_with("/assets/") || path == "/favicon.ico" {
        return next.run(req).await;
    }
    let principal = crate::pages::session::sealed_token(&a.services, req.headers())
        .and_then(|t| a.services.auth.verify(t));
    let client = client_id(principal.as_ref().map(|p| p.username.as_str()), &req);
    limit(&a, &client, req, next).await
}

fn client_id(username: Option<&str>, req: &Request) -> String {
    client_key(
        username,
        req.extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| *addr),
    )
}

/// The rate limiter's key of a client: the account if signed in, else the peer address.
pub(super) fn client_key(username: Option<&str>, peer: Option<SocketAddr>) -> String {
    match (username, peer) {
        (Some(u), _) => format!("rl:user:{u}"),
        (None, Some(addr)) => format!("rl:ip:{}", addr.ip()),
        (None, None) => "rl:ip:unknown".to_string(),
    }
}

async fn limit(a: &Admission, client: &str, req: Request, next: Next) -> Response {
    match check_rate(a, client).await {
        Some(refusal) => refusal,
        None => next.run(req).await,
    }
}

/// Counts one request of `client` against its allowance: `None` if admitted, else the
/// refusal to send (`429` with `Retry-After`).
pub(super) async fn check_rate(a: &Admission, client: &str) -> Option<Response> {
    let limit = a.services.config.limits.rate_limit_per_minute;
    let per_minute = NonZeroU32::new(u32::try_from(limit).unwrap_or(u32::MAX))?;
    match a
        .services
        .ports
        .rates
        .admit(client, Quota::per_minute(per_minute))
        .await
    {
        Ok(Decision::Refused { retry_after }) => {
            a.refused("rate_limit");
            Some(
                ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate-limited",
                    format!("more than {limit} requests in a minute; please slow down and try again shortly"),
                )
                .with_retry_after(whole_seconds(retry_after))
                .into_response(),
            )
        }
        Ok(Decision::Admitted) => None,
        Err(e) => {
            tracing::warn!(error = %e, "rate limiter cannot count; letting the request through");
            None
        }
    }
}

/// `Retry-After` is in whole seconds: rounded up, so a client that obeys it is admitted.
fn whole_seconds(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

/// Answers `503` if the request is not done within `limits.request_timeout_ms`.
pub async fn deadline(State(a): State<Admission>, req: Request, next: Next) -> Response {
    let ms = a.services.config.limits.request_timeout_ms;
    match tokio::time::timeout(Duration::from_millis(ms), next.run(req)).await {
        Ok(res) => res,
        Err(_) => {
            a.refused("timeout");
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "timeout",
                format!("the request took longer than {ms} ms and was abandoned; please try again"),
            )
            .with_retry_after(2)
            .into_response()
        }
    }
}
