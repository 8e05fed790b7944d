//! The operator's endpoints: `/healthz` (the process is alive), `/readyz` (whether a load
//! balancer should send it requests: `starting` until start-up has finished, then `ready`,
//! `degraded` while it can still answer — a portal with the store down but the cache up serves
//! cached results — or `unavailable`; see [`verdict`]), `/metrics` (Prometheus text, with each
//! engine's circuit breaker), and the API description `/api/openapi.json`.
//!
//! `/healthz` must never call an engine: a liveness probe that fails because the database
//! is slow gets a healthy process restarted. `/readyz` bounds every check with a short
//! timeout, so a hung engine makes it answer 503 quickly rather than hang the probe.

use super::RouteTable;
use crate::services::Services;
use axum::extract::State;
use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use eportal_ports::error::PortResult;
use eportal_ports::PortError;
use serde::Serialize;
use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

/// How long `/readyz` and `/metrics` wait for an engine.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

pub(super) fn routes(t: RouteTable) -> RouteTable {
    t.route(Method::GET, "/healthz", healthz)
        .route(Method::GET, "/readyz", readyz)
        .route(Method::GET, "/api/openapi.json", openapi)
}

/// `/metrics`, on the public address or on `metrics_listen` of its own.
pub(super) fn metrics_routes(t: RouteTable) -> RouteTable {
    t.route(Method::GET, "/metrics", metrics)
}

async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "alive" }))
}

#[derive(Serialize)]
struct Readiness {
    /// `starting`, `ready`, `degraded` (200: still worth sending students to) or
    /// `unavailable`.
    status: &'static str,
    /// Each engine (and the workers): "ok", or why it is not ready.
    checks: BTreeMap<&'static str, String>,
    /// Each engine's circuit breaker: `closed`, `half_open` or `open`.
    breakers: BTreeMap<&'static str, &'static str>,
    /// Only in a process that runs workers.
    #[serde(skip_serializing_if = "Option::is_none")]
    workers: Option<Workers>,
}

#[derive(Serialize)]
struct Workers {
    alive: i64,
    configured: usize,
}

/// "ok", or a short reason; the engine's own error goes to the log. The check goes through
/// the engine's breaker like any call: an open breaker answers at once, and once its
/// cool-down has passed this check may be the probe that closes it.
async fn probe<T>(engine: &'static str, f: impl Future<Output = PortResult<T>>) -> String {
    match tokio::time::timeout(PROBE_TIMEOUT, f).await {
        Ok(Ok(_)) => "ok".into(),
        Ok(Err(e)) => {
            tracing::warn!(engine, error = %e, "readiness check failed");
            match e {
                PortError::Unavailable { message, .. } if message.contains("circuit breaker") => {
                    "unavailable (circuit breaker open)".into()
                }
                _ => "unavailable".into(),
            }
        }
        Err(_) => {
            tracing::warn!(engine, "readiness check timed out");
            format!("no answer within {} ms", PROBE_TIMEOUT.as_millis())
        }
    }
}

/// Whether a load balancer should send this process requests. A portal is worth sending
/// students to while it can answer from the store or, with the store down, from the cache
/// (cached results are served, marked possibly stale): a PostgreSQL outage must not take every
/// portal out of rotation at once. With both down it can answer nothing useful: 503. A
/// worker-only process needs the store, and any process that runs workers needs one alive.
fn verdict(
    runs_portal: bool,
    store_ok: bool,
    cache_ok: bool,
    workers_ok: bool,
    all_ok: bool,
) -> (StatusCode, &'static str) {
    let serves = if runs_portal {
        store_ok || cache_ok
    } else {
        store_ok
    };
    match (serves && workers_ok, all_ok) {
        (true, true) => (StatusCode::OK, "ready"),
        (true, false) => (StatusCode::OK, "degraded"),
        (false, _) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
    }
}

fn breakers(s: &Services) -> BTreeMap<&'static str, &'static str> {
    s.ports
        .breakers
        .all()
        .into_iter()
        .map(|b| (b.engine(), b.state().as_str()))
        .collect()
}

async fn readyz(State(s): State<Services>) -> Response {
    if !s.startup.is_ready() {
        let body = Readiness {
            status: "starting",
            checks: BTreeMap::from([("startup", "not finished".to_string())]),
            breakers: breakers(&s),
            workers: None,
        };
        return (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response();
    }
    let p = &s.ports;
    let (store, cache, queue) = tokio::join!(
        probe("store", p.store.ping()),
        probe("cache", p.cache.ping()),
        probe("queue", p.queue.stats()),
    );
    // Without the cache, reads go to the store; without the queue, uploads still land in the
    // outbox (or the SQLite job table); without the store, cached results are still served.
    let (store_ok, cache_ok) = (store == "ok", cache == "ok");
    let mut checks = BTreeMap::from([("store", store), ("cache", cache), ("queue", queue)]);
    // A worker process whose every worker loop has died still answers HTTP but does no work:
    // it must leave the pool (and its supervisor is restarting the loops meanwhile).
    let workers = s.config.role.runs_workers().then(|| Workers {
        alive: s.metrics.workers_alive.get(),
        configured: s.config.worker.concurrency,
    });
    let mut workers_ok = true;
    if let Some(w) = &workers {
        workers_ok = w.alive > 0;
        let verdict = if usize::try_from(w.alive).is_ok_and(|a| a >= w.configured) {
            "ok".to_string()
        } else {
            format!("{} of {} workers alive", w.alive.max(0), w.configured)
        };
        checks.insert("workers", verdict);
    }
    let all_ok = checks.values().all(|v| v == "ok");
    let (code, status) = verdict(
        s.config.role.runs_portal(),
        store_ok,
        cache_ok,
        workers_ok,
        all_ok,
    );
    let body = Readiness {
        status,
        checks,
        breakers: breakers(&s),
        workers,
    };
    (code, Json(body)).into_response()
}

async fn metrics(State(s): State<Services>) -> Response {
    match tokio::time::timeout(PROBE_TIMEOUT, s.ports.queue.stats()).await {
        Ok(Ok(q)) => {
            let g = &s.metrics.queue_depth;
            for (state, n) in [
                ("ready", q.ready),
                ("in_flight", q.in_flight),
                ("delayed", q.delayed),
                ("dead", q.dead),
            ] {
                g.with_label_values(&[state])
                    .set(i64::try_from(n).unwrap_or(i64::MAX));
            }
        }
        // The last known depths are still worth exposing; the failure is logged.
        Ok(Err(e)) => tracing::warn!(error = %e, "cannot read queue depth for /metrics"),
        Err(_) => tracing::warn!("queue depth for /metrics timed out"),
    }
    match tokio::time::timeout(PROBE_TIMEOUT, s.ports.store.stale_results()).await {
        Ok(Ok(n)) => s
            .metrics
            .results_stale
            .set(i64::try_from(n).unwrap_or(i64::MAX)),
        Ok(Err(e)) => tracing::warn!(error = %e, "cannot count stale results for /metrics"),
        Err(_) => tracing::warn!("counting stale results for /metrics timed out"),
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        s.metrics.render(),
    )
        .into_response()
}

async fn openapi() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        super::OPENAPI_JSON,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_portal_with_the_store_down_and_the_cache_up_stays_in_rotation() {
        assert_eq!(
            verdict(true, false, true, true, false),
            (StatusCode::OK, "degraded")
        );
        assert_eq!(
            verdict(true, false, false, true, false),
            (StatusCode::SERVICE_UNAVAILABLE, "unavailable")
        );
        assert_eq!(
            verdict(false, false, true, true, false),
            (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            "a worker-only process has nothing to serve from a cache"
        );
        assert_eq!(
            verdict(true, true, false, true, false),
            (StatusCode::OK, "degraded")
        );
        assert_eq!(
            verdict(true, true, true, false, false),
            (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            "no worker alive"
        );
        assert_eq!(
            verdict(true, true, true, true, true),
            (StatusCode::OK, "ready")
        );
    }
}
