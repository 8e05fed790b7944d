//! Telemetry in one place: structured logs (`tracing`, text or JSON) and the Prometheus
//! metrics every part of eportal reports to. Series are named `eportal_…`.

use crate::config::LogFormat;
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};
use tracing_subscriber::EnvFilter;

/// Starts logging once per process; `RUST_LOG` overrides the default level (`info`). Colour
/// codes only when stderr is a terminal: in a file or a journal they are noise.
pub fn init_tracing(format: LogFormat) {
    use std::io::IsTerminal;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,lapin=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

pub struct Metrics {
    registry: Registry,
    pub http_requests: IntCounterVec,
    pub http_duration: HistogramVec,
    pub http_refused: IntCounterVec,
    pub queue_depth: IntGaugeVec,
    /// Students whose stored semester results await a refresh, read at each scrape.
    pub results_stale: IntGauge,
    pub jobs: IntCounterVec,
    pub sheet_rows: IntCounterVec,
    pub sheets: IntCounterVec,
    pub logins: IntCounterVec,
    pub cache: IntCounterVec,
    /// Jobs received again after an earlier delivery (a retry, or a worker that stopped, hung
    /// or lost its connection while holding it).
    pub jobs_redelivered: IntCounter,
    /// Regrade tasks done by this process, by phase (map, reduce, commit).
    pub regrade_tasks: IntCounterVec,
    /// Score records graded by this process's regrade map tasks.
    pub regrade_records: IntCounter,
    /// Students whose stale semester results this process's refreshes recomputed.
    pub results_refreshed: IntCounter,
    /// Requests answered by the fast lane (cached results reads), a part of `http_requests`.
    pub http_fast_lane: IntCounter,
    /// Worker tasks that died (a panic) and were started again.
    pub worker_restarts: IntCounter,
    /// Worker tasks running now; `/readyz` reads it.
    pub workers_alive: IntGauge,
    /// Results links sent to students, by outcome (see `services::links`).
    pub notifications: IntCounterVec,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

fn single_counter(r: &Registry, name: &str, help: &str) -> IntCounter {
    let c = IntCounter::new(name, help).expect("valid metric");
    r.register(Box::new(c.clone()))
        .expect("metric registered once");
    c
}

fn counter(r: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let c = IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric");
    r.register(Box::new(c.clone()))
        .expect("metric registered once");
    c
}

impl Metrics {
    pub fn new() -> Self {
        let r = Registry::new();
        let http_duration = HistogramVec::new(
            HistogramOpts::new(
                "eportal_http_request_duration_seconds",
                "HTTP request latency by route",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ]),
            &["method", "route"],
        )
        .expect("valid metric");
        r.register(Box::new(http_duration.clone()))
            .expect("metric registered once");
        let queue_depth = IntGaugeVec::new(
            Opts::new(
                "eportal_queue_depth",
                "Jobs in the queue by state (ready, in_flight, delayed, dead)",
            ),
            &["state"],
        )
        .expect("valid metric");
        r.register(Box::new(queue_depth.clone()))
            .expect("metric registered once");
        let results_stale = IntGauge::new(
            "eportal_results_stale",
            "Students whose stored semester results (GPA, CGPA) applied sheets marked stale and a refresh has not yet recomputed",
        )
        .expect("valid metric");
        r.register(Box::new(results_stale.clone()))
            .expect("metric registered once");
        let workers_alive = IntGauge::new(
            "eportal_workers_alive",
            "Worker tasks running in this process (0 in a portal-only process)",
        )
        .expect("valid metric");
        r.register(Box::new(workers_alive.clone()))
            .expect("metric registered once");
        Metrics {
            http_fast_lane: single_counter(
                &r,
                "eportal_http_fast_lane_total",
                "Requests answered by the fast lane for cached results reads (also counted in eportal_http_requests_total)",
            ),
            regrade_tasks: counter(
                &r,
                "eportal_regrade_tasks_total",
                "Regrade tasks done, by phase (map, reduce, commit)",
                &["phase"],
            ),
            regrade_records: single_counter(
                &r,
                "eportal_regrade_records_total",
                "Score records graded by regrade map tasks",
            ),
            results_refreshed: single_counter(
                &r,
                "eportal_results_refreshed_total",
                "Students whose stored semester results (GPA, CGPA) a refresh recomputed after applied sheets marked them stale",
            ),
            jobs_redelivered: single_counter(
                &r,
                "eportal_jobs_redelivered_total",
                "Jobs received again after an earlier delivery (a retry, or a worker that stopped or overran its lease)",
            ),
            worker_restarts: single_counter(
                &r,
                "eportal_worker_restarts_total",
                "Worker tasks that died (a panic) and were started again",
            ),
            workers_alive,
            notifications: counter(
                &r,
                "eportal_notifications_total",
                "Results links for students, by outcome (sent, failed, dropped when too many wait, skipped for a student with no account)",
                &["outcome"],
            ),
            http_requests: counter(
                &r,
                "eportal_http_requests_total",
                "HTTP requests by route and status",
                &["method", "route", "status"],
            ),
            http_duration,
            http_refused: counter(
                &r,
                "eportal_http_refused_total",
                "Requests and connections refused before handling, by reason (overload, rate_limit, timeout, body_timeout, connections)",
                &["reason"],
            ),
            queue_depth,
            results_stale,
            jobs: counter(
                &r,
                "eportal_jobs_total",
                "Jobs handled by workers, by outcome (done, retried, dead; dead includes jobs set aside for too many deliveries)",
                &["outcome"],
            ),
            sheet_rows: counter(
                &r,
                "eportal_sheet_rows_total",
                "Score-sheet rows judged, by outcome (accepted, rejected)",
                &["outcome"],
            ),
            sheets: counter(
                &r,
                "eportal_sheets_total",
                "Score sheets by event (uploaded, duplicate, processed, rejected, superseded, failed)",
                &["event"],
            ),
            logins: counter(
                &r,
                "eportal_logins_total",
                "Sign-in attempts by outcome (ok, bad_credentials, overloaded)",
                &["outcome"],
            ),
            cache: counter(
                &r,
                "eportal_cache_total",
                "Results cache lookups by outcome (hit, miss, error)",
                &["outcome"],
            ),
            registry: r,
        }
    }

    /// Adds series kept by another part (the circuit breakers keep their own). A series
    /// registered twice is logged and skipped: metrics must never stop the process.
    pub fn register(&self, c: Box<dyn prometheus::core::Collector>) {
        if let Err(e) = self.registry.register(c) {
            tracing::warn!(error = %e, "a metric series could not be registered");
        }
    }

    /// The Prometheus text exposition of every series.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut buf)
            .expect("text encoding cannot fail");
        String::from_utf8(buf).expect("prometheus text is UTF-8")
    }
}

/// Whether a message repeated on every request may be logged now: at most once a second per
/// `last` (the Unix time in milliseconds it was last logged), so an outage seen by every
/// request is one log line a second, not one per request.
pub fn log_now(last: &std::sync::atomic::AtomicI64) -> bool {
    use std::sync::atomic::Ordering;
    let now = eportal_ports::now_ms();
    let before = last.load(Ordering::Relaxed);
    now - before >= 1_000
        && last
            .compare_exchange(before, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
}

#[cfg(test)]
mod log_now_tests {
    use super::log_now;
    use std::sync::atomic::{AtomicI64, Ordering};

    #[test]
    fn a_repeated_message_is_logged_once_a_second() {
        let last = AtomicI64::new(0);
        assert!(log_now(&last), "the first time");
        assert!(!log_now(&last), "again at once");
        last.fetch_sub(1_000, Ordering::Relaxed);
        assert!(log_now(&last), "a second later");
    }
}
