//! Typed configuration from layered sources: built-in defaults → an optional TOML file
//! (`--config FILE` or `EPORTAL_CONFIG`) → `EPORTAL_` environment variables (`__` nests, so
//! `EPORTAL_LIMITS__MAX_UPLOAD_BYTES=1000000`). Validated once at start-up; every error names
//! the setting a person has to fix.

use anyhow::{bail, Context};
use eportal_core::jobs::RetryPolicy;
use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Which parts of eportal this process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ProcessRole {
    /// HTTP portal (API and pages) and the outbox relay.
    Portal,
    /// Queue workers only.
    Worker,
    /// Both, in one process (the embedded deployment).
    All,
}

impl ProcessRole {
    pub fn runs_portal(self) -> bool {
        matches!(self, ProcessRole::Portal | ProcessRole::All)
    }
    pub fn runs_workers(self) -> bool {
        matches!(self, ProcessRole::Worker | ProcessRole::All)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Limits {
    /// Largest score sheet accepted, in bytes.
    pub max_upload_bytes: usize,
    /// Most data rows in one sheet.
    pub max_sheet_rows: usize,
    /// Largest JSON request body, in bytes.
    pub max_json_bytes: usize,
    /// Requests handled at once; more are refused with 503 and Retry-After.
    pub max_in_flight: usize,
    /// Requests one client may make per minute before 429 (0 disables).
    pub rate_limit_per_minute: u64,
    /// Every request is answered within this many milliseconds (or 503).
    pub request_timeout_ms: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_upload_bytes: 5 * 1024 * 1024,
            max_sheet_rows: 5000,
            max_json_bytes: 64 * 1024,
            max_in_flight: 512,
            rate_limit_per_minute: 600,
            request_timeout_ms: 15_000,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct WorkerConfig {
    /// Concurrent job handlers in a worker process.
    pub concurrency: usize,
    /// How long a taken job stays leased before another worker may take it again.
    pub lease_ms: u64,
    /// How long an idle worker waits before polling the queue again.
    pub poll_ms: u64,
    pub retry: RetryPolicy,
    /// The executable run as `PROGRAM parse-sheet` to read each uploaded sheet in a child
    /// process of its own; empty means this eportal executable.
    pub sheet_parser: Option<PathBuf>,
    /// Address space the sheet-reading child may use, in MB (RLIMIT_AS).
    pub sheet_memory_mb: u64,
    /// CPU time the sheet-reading child may use, in seconds (RLIMIT_CPU).
    pub sheet_cpu_secs: u64,
    /// Wall time after which the sheet-reading child is killed, in seconds.
    pub sheet_wall_secs: u64,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            concurrency: 2,
            lease_ms: 60_000,
            poll_ms: 200,
            retry: RetryPolicy::default(),
            sheet_parser: None,
            sheet_memory_mb: 512,
            sheet_cpu_secs: 20,
            sheet_wall_secs: 30,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AuthConfig {
    /// How long a sign-in token stays valid.
    pub token_ttl_minutes: u64,
    /// Password hashes computed at once (argon2id is CPU-bound by design).
    pub hash_concurrency: usize,
    /// Sign-ins waiting for a hashing slot before new ones are told to come back later.
    pub max_waiting_logins: usize,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            token_ttl_minutes: 12 * 60,
            hash_concurrency: 2,
            max_waiting_logins: 64,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    pub listen: SocketAddr,
    /// Where the SQLite file and uploaded sheets live.
    pub data_dir: PathBuf,
    /// `sqlite://PATH` or `postgres://…`; empty means the SQLite file in `data_dir`.
    pub database_url: String,
    /// `embedded` (the queue inside the SQLite file) or `amqp://…` (RabbitMQ).
    pub queue_url: String,
    /// `memory` (in-process) or `redis://…`.
    pub cache_url: String,
    /// Prefix of the queue names on RabbitMQ (`{ns}.jobs`, …): deployments sharing a broker
    /// use different ones.
    pub queue_namespace: String,
    /// Prefix of every key on Redis.
    pub cache_prefix: String,
    pub role: ProcessRole,
    pub log_format: LogFormat,
    pub limits: Limits,
    pub worker: WorkerConfig,
    pub auth: AuthConfig,
    /// Seconds a student's results stay cached (they are also invalidated on change).
    pub results_cache_ttl_secs: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:8080".parse().expect("valid default address"),
            data_dir: PathBuf::from("data"),
            database_url: String::new(),
            queue_url: "embedded".into(),
            cache_url: "memory".into(),
            queue_namespace: "eportal".into(),
            cache_prefix: "eportal:".into(),
            role: ProcessRole::All,
            log_format: LogFormat::Text,
            limits: Limits::default(),
            worker: WorkerConfig::default(),
            auth: AuthConfig::default(),
            results_cache_ttl_secs: 300,
        }
    }
}

/// The engine behind each port, as chosen by the URLs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseKind {
    Sqlite(String),
    Postgres(String),
}

impl Config {
    /// Defaults, then `file` (if any, else `EPORTAL_CONFIG`), then `EPORTAL_*` variables.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Config> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        let file = file
            .map(Path::to_path_buf)
            .or_else(|| std::env::var_os("EPORTAL_CONFIG").map(PathBuf::from));
        if let Some(f) = &file {
            if !f.exists() {
                bail!("configuration file {} does not exist", f.display());
            }
            fig = fig.merge(Toml::file(f));
        }
        fig = fig.merge(Env::prefixed("EPORTAL_").ignore(&["CONFIG"]).split("__"));
        let cfg: Config = fig.extract().map_err(|e| {
            anyhow::anyhow!(
                "invalid configuration: {}",
                e.into_iter()
                    .map(|e| e.to_string())
                    .collect::<Vec<_>>()
                    .join("; ")
            )
        })?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// The database, with the SQLite default filled in.
    pub fn database(&self) -> anyhow::Result<DatabaseKind> {
        let url = self.database_url.trim();
        if url.is_empty() {
            return Ok(DatabaseKind::Sqlite(
                self.data_dir.join("eportal.sqlite").display().to_string(),
            ));
        }
        if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() {
                bail!("EPORTAL_DATABASE_URL '{url}' names no SQLite file (e.g. sqlite://data/eportal.sqlite)");
            }
            return Ok(DatabaseKind::Sqlite(path.to_string()));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(DatabaseKind::Postgres(url.to_string()));
        }
        bail!(
            "EPORTAL_DATABASE_URL must start with sqlite:// or postgres:// (got '{}')",
            redact(url)
        )
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
        if l.request_timeout_ms < 100 {
            bail!("EPORTAL_LIMITS__REQUEST_TIMEOUT_MS must be at least 100");
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
        if self.auth.hash_concurrency == 0 {
            bail!("EPORTAL_AUTH__HASH_CONCURRENCY must be more than 0");
        }
        if self.auth.token_ttl_minutes == 0 {
            bail!("EPORTAL_AUTH__TOKEN_TTL_MINUTES must be more than 0");
        }
        Ok(())
    }

    /// Makes sure the data directory exists.
    pub fn ensure_data_dir(&self) -> anyhow::Result<()> {
        std::fs::create_dir_all(&self.data_dir)
            .with_context(|| format!("cannot create data directory {}", self.data_dir.display()))
    }
}

/// A URL with any password replaced, safe to print.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{}:***{}", &url[..s + 3], user, &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}
