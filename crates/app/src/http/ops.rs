//! The operator's endpoints: `/healthz` (the process is alive), `/readyz` (the store
//! answers, and in a process that runs workers at least one worker is alive; a missing cache
//! or queue, or some dead workers, only degrade it), `/metrics` (Prometheus text), and the API description `/api/openapi.json`.
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
    status: &'static str,
    /// Each engine (and the workers): "ok", or why it is not ready.
    checks: BTreeMap<&'static str, String>,
    /// Only in a process that runs workers.
    #[serde(skip_serializing_if = "Option::is_none")]
    workers: Option<Workers>,
}

#[derive(Serialize)]
struct Workers {
    alive: i64,
    configured: usize,
}

/// "ok", or a short reason; the engine's own error goes to the log.
async fn probe<T>(engine: &'static str, f: impl Future<Output = PortResult<T>>) -> String {
    match tokio::time::timeout(PROBE_TIMEOUT, f).await {
        Ok(Ok(_)) => "ok".into(),
        Ok(Err(e)) => {
            tracing::warn!(engine, error = %e, "readiness check failed");
            "unavailable".into()
        }
        Err(_) => {
            tracing::warn!(engine, "readiness check timed out");
            format!("no answer within {} ms", PROBE_TIMEOUT.as_millis())
        }
    }
}

async fn readyz(State(s): State<Services>) -> Response {
    let p = &s.ports;
    let (store, cache, queue) = tokio::join!(
        probe("store", p.store.ping()),
        probe("cache", p.cache.ping()),
        probe("queue", p.queue.stats()),
    );
    // Only the store is essential: without the cache, reads go to the store; without the
    // queue, uploads still land in the outbox (or the SQLite job table). A process missing
    // either is degraded but still worth sending traffic to, so a Redis or RabbitMQ outage
    // does not take every portal out of the load balancer.
    let store_ok = store == "ok";
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
    let essential_ok = store_ok && workers_ok;
    let all_ok = checks.values().all(|v| v == "ok");
    let body = Readiness {
        status: match (essential_ok, all_ok) {
            (_, true) => "ready",
            (true, false) => "degraded",
            (false, _) => "unavailable",
        },
        checks,
        workers,
    };
    let code = if essential_ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
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
