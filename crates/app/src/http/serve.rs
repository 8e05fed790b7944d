//! Serving HTTP/1.1 connections so that slow and greedy clients cannot exhaust the process:
//! a client must finish a request's headers within `limits.header_timeout_ms` (hyper starts
//! that clock when a connection opens and again when a kept-alive connection goes idle, so it
//! is also the idle keep-alive timeout), and at most `limits.max_connections` connections are
//! open at once — one more is closed the moment it is accepted, never queued. Request bodies
//! are bounded separately (`limits.body_timeout_ms`, in `http::body`). The open-file soft
//! limit is raised to the hard limit at start, and the connection cap is kept below it with a
//! reserve for the database, the sheet files and the parser children.
//!
//! This module must never wait for a free connection slot, and never stop accepting because
//! of one client: a failed accept (out of descriptors) is logged and retried after a pause.

use crate::config::Limits;
use crate::telemetry::Metrics;
use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tower::ServiceExt;

/// Descriptors kept back from the connection cap: database and broker connections, sheet
/// files, parser children's pipes, the listeners themselves.
pub const FD_RESERVE: u64 = 256;

/// How long connections still open at shutdown may finish their request.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Raises the open-file soft limit to the hard limit (where the platform allows) and returns
/// the limit now in force.
pub fn raise_open_file_limit() -> u64 {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(n) => n,
        Err(e) => {
            tracing::warn!(error = %e, "cannot raise the open-file limit");
            rlimit::getrlimit(rlimit::Resource::NOFILE)
                .map(|(soft, _)| soft)
                .unwrap_or(1024)
        }
    }
}

/// The connection cap: the configured one, or the open-file limit less the reserve. A
/// configured cap the limit cannot honour is an error naming the setting.
pub fn connection_cap(limits: &Limits, open_files: u64) -> anyhow::Result<usize> {
    let room = open_files.saturating_sub(FD_RESERVE);
    if limits.max_connections == 0 {
        return Ok(usize::try_from(room.max(16)).unwrap_or(usize::MAX));
    }
    if limits.max_connections as u64 > room {
        anyhow::bail!(
            "EPORTAL_LIMITS__MAX_CONNECTIONS={} is more than this process can hold open: its open-file limit is {open_files}, of which {FD_RESERVE} are kept for the database, sheets and parser children; lower the setting to {room} or less, or raise the limit (ulimit -n, LimitNOFILE=)",
            limits.max_connections
        );
    }
    Ok(limits.max_connections)
}

/// Connections the kernel may hold for the portal before it accepts them (results-day
/// bursts); Linux caps it at `net.core.somaxconn`.
const BACKLOG: u32 = 4096;

/// Binds a listener with room for a burst of arriving connections.
pub fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    // As `TcpListener::bind` does: a restarted portal may bind while old connections linger.
    #[cfg(unix)]
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(BACKLOG)
}

/// What a listener enforces on its connections.
#[derive(Debug, Clone)]
pub struct ConnectionRules {
    pub header_timeout: Duration,
    pub max_connections: usize,
}

/// Serves `router` on `listener` until `stop` turns true, then lets open connections finish
/// (bounded) and returns. A request the fast lane can answer (a cached results read) is
/// answered by it without reaching the router.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    fast: Option<super::FastLane>,
    rules: ConnectionRules,
    metrics: Arc<Metrics>,
    mut stop: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(rules.max_connections));
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(rules.header_timeout)
        .keep_alive(true);
    let mut last_refusal_log: Option<Instant> = None;
    loop {
        let accepted = tokio::select! {
            _ = stop.wait_for(|v| *v) => break,
            a = listener.accept() => a,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // Out of descriptors, or a connection reset before it was accepted: keep
                // serving the connections already open and try again shortly.
                tracing::warn!(error = %e, "cannot accept a connection");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            metrics
                .http_refused
                .with_label_values(&["connections"])
                .inc();
            // One line a second at most: a flood must not become a flood of log lines.
            if last_refusal_log.is_none_or(|t| t.elapsed() >= Duration::from_secs(1)) {
                last_refusal_log = Some(Instant::now());
                tracing::info!(
                    client = %peer.ip(),
                    max_connections = rules.max_connections,
                    "connection closed: the portal holds as many connections as it allows"
                );
            }
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let (router, fast) = (router.clone(), fast.clone());
        let service = tower::service_fn(move |mut req: axum::http::Request<Incoming>| {
            let (router, fast) = (router.clone(), fast.clone());
            async move {
                if let Some(fast) = &fast {
                    if let Some(res) = fast.answer(&req, peer).await {
                        return Ok::<_, std::convert::Infallible>(res);
                    }
                }
                req.extensions_mut().insert(ConnectInfo(peer));
                router.oneshot(req).await
            }
        });
        let conn = http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                // Timeouts and clients that hang up are routine; an operator asks for them.
                tracing::debug!(client = %peer.ip(), error = %e, "connection ended");
            }
            drop(slot);
        });
    }
    drop(listener);
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(SHUTDOWN_GRACE) => {
            tracing::warn!("connections still open after {SHUTDOWN_GRACE:?} of shutdown; closing them");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_stays_below_the_open_file_limit() {
        let mut l = Limits::default();
        assert_eq!(
            connection_cap(&l, 20_000).unwrap(),
            20_000 - FD_RESERVE as usize
        );
        l.max_connections = 1000;
        assert_eq!(connection_cap(&l, 20_000).unwrap(), 1000);
        let e = connection_cap(&l, 1024).unwrap_err().to_string();
        assert!(
            e.starts_with("EPORTAL_LIMITS__MAX_CONNECTIONS=1000 is more than this process can hold open: its open-file limit is 1024"),
            "{e}"
        );
    }
}
