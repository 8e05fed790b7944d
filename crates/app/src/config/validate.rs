//! Checking a loaded [`Config`] once at start-up: every value that can be wrong is refused
//! with a message naming the setting a person has to fix (`EPORTAL_…`), and settings that
//! depend on each other are checked together.

use super::{redact, Config, DatabaseKind};
use anyhow::bail;
use eportal_core::amendment::ApprovalChain;

impl Config {
    fn validate_links(&self) -> anyhow::Result<()> {
        let (l, n) = (&self.links, &self.notify);
        if l.ttl_hours == 0 || l.ttl_hours > 24 * 90 {
            bail!(
                "EPORTAL_LINKS__TTL_HOURS must be between 1 and 2160 (90 days); got {}",
                l.ttl_hours
            );
        }
        let base = l.base_url.trim();
        if !base.is_empty() && !base.starts_with("http://") && !base.starts_with("https://") {
            bail!("EPORTAL_LINKS__BASE_URL must start with http:// or https:// (got '{base}')");
        }
        let smtp = n.smtp_url.trim();
        if !smtp.is_empty() {
            if !smtp.starts_with("smtp://") && !smtp.starts_with("smtps://") {
                bail!(
                    "EPORTAL_NOTIFY__SMTP_URL must be empty (messages to data_dir/outbox.jsonl) or start with smtp:// or smtps:// (got '{}')",
                    redact(smtp)
                );
            }
            let domain = n.email_domain.trim();
            if domain.is_empty() || domain.contains('@') || domain.contains(char::is_whitespace) {
                bail!("EPORTAL_NOTIFY__EMAIL_DOMAIN must name the students' mail domain (students.example.edu) when EPORTAL_NOTIFY__SMTP_URL is set: students have no address on record");
            }
            if !n.from.contains('@') {
                bail!(
                    "EPORTAL_NOTIFY__FROM must be an email address (got '{}')",
                    n.from
                );
            }
        }
        if n.concurrency == 0 || n.timeout_secs == 0 || n.max_pending == 0 {
            bail!(
                "EPORTAL_NOTIFY__CONCURRENCY, __TIMEOUT_SECS and __MAX_PENDING must be more than 0"
            );
        }
        Ok(())
    }

    /// Checks every setting; the message names the one to fix.
    pub fn validate(&self) -> anyhow::Result<()> {
        let db = self.database()?;
        let q = self.queue_url.trim();
        let amqp = q.starts_with("amqp://") || q.starts_with("amqps://");
        if q != "embedded" && !amqp {
            bail!(
                "EPORTAL_QUEUE_URL must be 'embedded' or start with amqp:// (got '{}')",
                redact(q)
            );
        }
        match (&db, amqp) {
            (DatabaseKind::Sqlite(_), true) => bail!(
                "EPORTAL_QUEUE_URL=amqp://… needs EPORTAL_DATABASE_URL=postgres://… : jobs reach RabbitMQ through an outbox in PostgreSQL"
            ),
            (DatabaseKind::Postgres(_), false) => bail!(
                "EPORTAL_DATABASE_URL=postgres://… needs EPORTAL_QUEUE_URL=amqp://… : the embedded queue lives in the SQLite file"
            ),
            _ => {}
        }
        let c = self.cache_url.trim();
        if c != "memory" && !c.starts_with("redis://") && !c.starts_with("rediss://") {
            bail!(
                "EPORTAL_CACHE_URL must be 'memory' or start with redis:// (got '{}')",
                redact(c)
            );
        }
        if self.queue_namespace.trim().is_empty()
            || !self
                .queue_namespace
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            bail!(
                "EPORTAL_QUEUE_NAMESPACE must be letters, digits, '-', '_' or '.' (got '{}')",
                self.queue_namespace
            );
        }
        let l = &self.limits;
        if l.max_upload_bytes == 0 || l.max_sheet_rows == 0 || l.max_json_bytes == 0 {
            bail!("EPORTAL_LIMITS__MAX_UPLOAD_BYTES, __MAX_SHEET_ROWS and __MAX_JSON_BYTES must be more than 0");
        }
        if l.max_in_flight == 0 {
            bail!("EPORTAL_LIMITS__MAX_IN_FLIGHT must be more than 0");
        }
        if let Err(e) = ApprovalChain::parse(&self.workflow.amendment_approvals) {
            bail!(
                "EPORTAL_WORKFLOW__AMENDMENT_APPROVALS is '{}': {e} (for example 'hod,dean,senate', the default, or 'senate')",
                self.workflow.amendment_approvals
            );
        }
        if self.pages.session_idle_secs == 0 || self.pages.session_absolute_secs == 0 {
            bail!(
                "EPORTAL_PAGES__SESSION_IDLE_SECS and __SESSION_ABSOLUTE_SECS must be more than 0"
            );
        }
        if l.request_timeout_ms < 100 {
            bail!("EPORTAL_LIMITS__REQUEST_TIMEOUT_MS must be at least 100");
        }
        if l.header_timeout_ms < 100 {
            bail!("EPORTAL_LIMITS__HEADER_TIMEOUT_MS must be at least 100");
        }
        if l.body_timeout_ms < 100 {
            bail!("EPORTAL_LIMITS__BODY_TIMEOUT_MS must be at least 100");
        }
        if l.max_buffered_bytes < l.max_upload_bytes {
            bail!(
                "EPORTAL_LIMITS__MAX_BUFFERED_BYTES ({}) must be at least EPORTAL_LIMITS__MAX_UPLOAD_BYTES ({}), or no score sheet could ever be received",
                l.max_buffered_bytes,
                l.max_upload_bytes
            );
        }
        if self.metrics_listen == Some(self.listen) && self.listen.port() != 0 {
            bail!(
                "EPORTAL_METRICS_LISTEN is the same address as EPORTAL_LISTEN ({}); give /metrics an address of its own, or leave it unset",
                self.listen
            );
        }
        if self.worker.concurrency == 0 {
            bail!("EPORTAL_WORKER__CONCURRENCY must be more than 0");
        }
        if self.worker.lease_ms < 1000 {
            bail!("EPORTAL_WORKER__LEASE_MS must be at least 1000");
        }
        if self.worker.retry.max_attempts == 0 {
            bail!("EPORTAL_WORKER__RETRY__MAX_ATTEMPTS must be more than 0");
        }
        self.validate_max_deliveries()?;
        let w = &self.worker;
        if w.sheet_memory_mb < 64 {
            bail!("EPORTAL_WORKER__SHEET_MEMORY_MB must be at least 64 (the sheet reader needs room to start)");
        }
        if w.sheet_cpu_secs == 0 {
            bail!("EPORTAL_WORKER__SHEET_CPU_SECS must be more than 0");
        }
        if w.sheet_wall_secs == 0 {
            bail!("EPORTAL_WORKER__SHEET_WALL_SECS must be more than 0");
        }
        if !(1_000..=86_400_000).contains(&w.max_wait_ms) {
            bail!(
                "EPORTAL_WORKER__MAX_WAIT_MS must be from 1000 (1 s) to 86400000 (a day): it is how long a sheet may wait under lifo or sjf before it is served next; got {}",
                w.max_wait_ms
            );
        }
        if !(1..=10_000).contains(&w.release_window) {
            bail!(
                "EPORTAL_WORKER__RELEASE_WINDOW must be from 1 to 10000 (how many jobs may wait in RabbitMQ at once under a discipline other than fifo); got {}",
                w.release_window
            );
        }
        self.validate_results_cache()?;
        if self.auth.hash_workers > 1024 {
            bail!(
                "EPORTAL_AUTH__HASH_WORKERS must be at most 1024 (0: one per core; each hash holds 19 MiB); got {}",
                self.auth.hash_workers
            );
        }
        if !(10..=60_000).contains(&self.auth.hash_queue_ms) {
            bail!(
                "EPORTAL_AUTH__HASH_QUEUE_MS must be between 10 and 60000 (how long a sign-in may wait for a hashing slot); got {}",
                self.auth.hash_queue_ms
            );
        }
        if self.auth.max_waiting_logins == 0 {
            bail!("EPORTAL_AUTH__MAX_WAITING_LOGINS must be more than 0");
        }
        if self.auth.token_ttl_minutes == 0 {
            bail!("EPORTAL_AUTH__TOKEN_TTL_MINUTES must be more than 0");
        }
        if self.auth.sign_in_window_secs == 0 || self.auth.sign_in_lock_secs == 0 {
            bail!("EPORTAL_AUTH__SIGN_IN_WINDOW_SECS and EPORTAL_AUTH__SIGN_IN_LOCK_SECS must be more than 0");
        }
        self.breaker.validate()?;
        self.ledger.validate()?;
        self.validate_links()?;
        Ok(())
    }

    /// The delivery limit sits between the retry budget (a job that fails cleanly is given up
    /// by the retry schedule first, with its own error) and RabbitMQ's own limit on the jobs
    /// queue (the backstop, which cannot mark the sheet failed: the worker must act first).
    fn validate_max_deliveries(&self) -> anyhow::Result<()> {
        let w = &self.worker;
        let broker = u32::try_from(eportal_rabbitmq::DELIVERY_LIMIT).unwrap_or(u32::MAX);
        if w.max_deliveries == 0 || w.max_deliveries > broker {
            bail!(
                "EPORTAL_WORKER__MAX_DELIVERIES must be between 1 and {broker} (RabbitMQ's own delivery limit on the jobs queue); got {}",
                w.max_deliveries
            );
        }
        if w.retry.max_attempts > w.max_deliveries {
            bail!(
                "EPORTAL_WORKER__RETRY__MAX_ATTEMPTS ({}) must not be more than EPORTAL_WORKER__MAX_DELIVERIES ({}): a job that keeps failing must use up its retries before it counts as one that stops its worker",
                w.retry.max_attempts,
                w.max_deliveries
            );
        }
        Ok(())
    }

    /// A cached copy must outlive its freshness (or there is nothing to serve through an
    /// outage), and a results read must give up on the store before the request times out,
    /// so the student is told when to come back instead of being cut off.
    fn validate_results_cache(&self) -> anyhow::Result<()> {
        if !(1_000..=100_000_000).contains(&self.cache_max_entries) {
            bail!(
                "EPORTAL_CACHE_MAX_ENTRIES ({}) must be from 1000 to 100000000: the in-process cache keeps a student's results and session version, about 2 KB each",
                self.cache_max_entries
            );
        }
        if self.results_stale_ttl_secs < self.results_cache_ttl_secs.max(1) {
            bail!(
                "EPORTAL_RESULTS_STALE_TTL_SECS ({}) must be at least EPORTAL_RESULTS_CACHE_TTL_SECS ({}) and more than 0: it is how long a cached copy is kept to serve through a store outage",
                self.results_stale_ttl_secs,
                self.results_cache_ttl_secs
            );
        }
        let t = self.results_store_timeout_ms;
        if t < 50 || t >= self.limits.request_timeout_ms {
            bail!(
                "EPORTAL_RESULTS_STORE_TIMEOUT_MS ({t}) must be at least 50 and less than EPORTAL_LIMITS__REQUEST_TIMEOUT_MS ({}), so a read the store cannot answer ends in a 503 with Retry-After",
                self.limits.request_timeout_ms
            );
        }
        Ok(())
    }
}
