//! Typed configuration from layered sources: built-in defaults → an optional TOML file
//! (`--config FILE` or `EPORTAL_CONFIG`) → `EPORTAL_` environment variables (`__` nests, so
//! `EPORTAL_LIMITS__MAX_UPLOAD_BYTES=1000000`). Validated once at start-up; every error names
//! the setting a person has to fix.

use crate::config_names::{self, KnownKeys};

mod validate;
use anyhow::{bail, Context};
use eportal_core::amendment::ApprovalChain;
use eportal_core::discipline::{Discipline, QueueOrder};
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
    /// A client must finish sending a request's headers within this many milliseconds of
    /// connecting or of the previous answer on a kept-alive connection (so this is also the
    /// idle keep-alive timeout); otherwise the connection is closed.
    pub header_timeout_ms: u64,
    /// A request's whole body must arrive within this many milliseconds (or 408).
    pub body_timeout_ms: u64,
    /// Open client connections at once; more are closed as they arrive. 0 derives it from the
    /// open-file limit, less a reserve for the database, sheets and parser children.
    pub max_connections: usize,
    /// Request bodies held in memory at once, over all connections, in bytes; a request whose
    /// body would pass it is answered 503 with Retry-After.
    pub max_buffered_bytes: usize,
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
            header_timeout_ms: 10_000,
            body_timeout_ms: 30_000,
            max_connections: 0,
            max_buffered_bytes: 256 * 1024 * 1024,
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
    /// A job handed to workers this many times without ever being settled (each time its
    /// worker died, hung past its lease or lost its connection) is set aside, when it is
    /// received again, before it can run once more: it goes to the dead-letter place and its
    /// sheet is marked failed. This is what stops a sheet that crashes the process from
    /// crashing it for ever.
    pub max_deliveries: u32,
    /// The executable run as `PROGRAM parse-sheet` to read each uploaded sheet in a child
    /// process of its own; empty means this eportal executable.
    pub sheet_parser: Option<PathBuf>,
    /// Address space the sheet-reading child may use, in MB (RLIMIT_AS).
    pub sheet_memory_mb: u64,
    /// CPU time the sheet-reading child may use, in seconds (RLIMIT_CPU).
    pub sheet_cpu_secs: u64,
    /// Wall time after which the sheet-reading child is killed, in seconds.
    pub sheet_wall_secs: u64,
    /// Which waiting sheet is taken next: `fifo`, `lifo`, `sjf` (fewest rows first) or
    /// `round_robin` (departments in turn). See docs/queue-disciplines.md.
    pub discipline: Discipline,
    /// Under `lifo` and `sjf`, a sheet that has waited this long is served next (ageing).
    pub max_wait_ms: u64,
    /// RabbitMQ deployments under a discipline other than `fifo`: at most this many jobs
    /// wait in the broker at once; the rest wait in PostgreSQL's outbox, where the
    /// discipline chooses among them.
    pub release_window: u32,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            concurrency: 2,
            lease_ms: 60_000,
            poll_ms: 200,
            retry: RetryPolicy::default(),
            max_deliveries: 5,
            sheet_parser: None,
            sheet_memory_mb: 512,
            sheet_cpu_secs: 20,
            sheet_wall_secs: 30,
            discipline: Discipline::Fifo,
            max_wait_ms: QueueOrder::default().max_wait_ms,
            release_window: 8,
        }
    }
}

impl WorkerConfig {
    /// The queue order the stores and queues are configured with.
    pub fn queue_order(&self) -> QueueOrder {
        QueueOrder {
            discipline: self.discipline,
            max_wait_ms: self.max_wait_ms,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AuthConfig {
    /// How long a sign-in token stays valid.
    pub token_ttl_minutes: u64,
    /// Password hashes computed at once, on a pool of their own (argon2id is CPU-bound by
    /// design); 0 means one per available core.
    pub hash_workers: usize,
    /// The waiting room's bound: a sign-in that could not start hashing within this many
    /// milliseconds is answered at once with `503` and when to come back. Those told to come
    /// back in the same second arrive spread over 300 ms of it at least; a bound of 700 ms
    /// lets them all wait, so the pool stays busy to the end of the second, and still answers
    /// each within a second of arriving.
    pub hash_queue_ms: u64,
    /// Sign-ins waiting for a hashing slot at once, whatever the wait; more are told to come
    /// back later (a bound on memory).
    pub max_waiting_logins: usize,
    /// Failed sign-ins for one username within `sign_in_window_secs` before it is locked
    /// for `sign_in_lock_secs` (0: never). Counted for unknown usernames too.
    pub max_failed_sign_ins: u64,
    /// Failed sign-ins from one network address within the window before the address is
    /// locked (0: never). Far higher than the per-account limit: a campus behind one NAT
    /// address is thousands of people; behind a proxy (HAProxy) every client has the proxy's
    /// address, so set it to 0 there.
    pub max_failed_sign_ins_per_address: u64,
    /// The window in which failed sign-ins are counted.
    pub sign_in_window_secs: u64,
    /// How long a locked account or address is refused.
    pub sign_in_lock_secs: u64,
    /// How long a portal trusts a cached session version before asking the store again
    /// (changes also clear it at once through the shared cache).
    pub session_check_cache_secs: u64,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            token_ttl_minutes: 12 * 60,
            hash_workers: 0,
            hash_queue_ms: 700,
            max_waiting_logins: 256,
            max_failed_sign_ins: 5,
            max_failed_sign_ins_per_address: 1000,
            sign_in_window_secs: 15 * 60,
            sign_in_lock_secs: 5 * 60,
            session_check_cache_secs: 30,
        }
    }
}

/// What happens when a reviewer had a hand in the result before them (taught the course,
/// uploaded a sheet for it, or submitted it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SelfApproval {
    /// They are refused, and the next reviewer up (the dean for an HOD, senate for a dean)
    /// may act at that step in their place.
    #[default]
    Escalate,
    /// They are refused, and only another holder of the same role may act.
    Refuse,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct WorkflowConfig {
    pub self_approval: SelfApproval,
    /// Who approves an amendment of a published result, in order: reviewers separated by
    /// commas, any of `hod,dean,senate` in that order (the full chain by default).
    pub amendment_approvals: String,
}

impl Default for WorkflowConfig {
    fn default() -> Self {
        WorkflowConfig {
            self_approval: SelfApproval::default(),
            amendment_approvals: ApprovalChain::full().to_string(),
        }
    }
}

impl WorkflowConfig {
    /// The amendment approval chain (validated at start-up, so it parses).
    pub fn amendment_chain(&self) -> ApprovalChain {
        ApprovalChain::parse(&self.amendment_approvals).unwrap_or_else(|_| ApprovalChain::full())
    }
}

/// Results links (`/r/{token}`): a personal, expiring link to a student's results, sent
/// when a course result is published (see `services::links`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LinksConfig {
    /// Send each student a link when a course of theirs is published.
    pub enabled: bool,
    /// How long a link opens the results, in hours.
    pub ttl_hours: u64,
    /// The portal's address as students reach it (`https://portal.example.edu`), put before
    /// `/r/{token}` in messages; empty means `http://` and the listen address.
    pub base_url: String,
}

impl Default for LinksConfig {
    fn default() -> Self {
        LinksConfig {
            enabled: true,
            ttl_hours: 72,
            base_url: String::new(),
        }
    }
}

/// How messages reach students: a file of messages by default, email when `smtp_url` is set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct NotifyConfig {
    /// Empty: messages go to `data_dir/outbox.jsonl`. Otherwise the SMTP relay:
    /// `smtp://host:25` (plain, for a campus relay), `smtp://host:587?tls=required`
    /// (STARTTLS) or `smtps://host:465`, with `user:password@` if the relay wants it.
    pub smtp_url: String,
    /// The sender of emails.
    pub from: String,
    /// Students have no email address on record: they are written to as
    /// `{matric number, lower case}@{email_domain}` (`sci/2021/0001@students.example.edu`).
    /// Needed with `smtp_url`.
    pub email_domain: String,
    /// Messages being delivered at once.
    pub concurrency: usize,
    /// One message's delivery is given up after this many seconds.
    pub timeout_secs: u64,
    /// Messages waiting to be delivered; past this, new ones are dropped (and counted).
    pub max_pending: usize,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        NotifyConfig {
            smtp_url: String::new(),
            from: "eportal <results@localhost>".into(),
            email_domain: String::new(),
            concurrency: 4,
            timeout_secs: 10,
            max_pending: 200_000,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// `host:port`; a host name is resolved at start (`localhost:8080`).
    #[serde(deserialize_with = "crate::config_names::addr")]
    pub listen: SocketAddr,
    /// Where `/metrics` is served instead of the public address (Prometheus practice: keep
    /// it off the public network). Unset: `/metrics` is on `listen`.
    #[serde(deserialize_with = "crate::config_names::opt_addr")]
    pub metrics_listen: Option<SocketAddr>,
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
    /// Entries the in-process cache holds at most (a student's results, a session version):
    /// at least two per student who reads on results day keeps every read a hit.
    pub cache_max_entries: u64,
    pub role: ProcessRole,
    pub log_format: LogFormat,
    pub limits: Limits,
    pub worker: WorkerConfig,
    pub auth: AuthConfig,
    pub workflow: WorkflowConfig,
    /// Seconds a student's cached results count as fresh (they are also invalidated on
    /// change); after that they are served while being refreshed in the background.
    pub results_cache_ttl_secs: u64,
    /// Seconds a student's cached results are kept at all: past their freshness they are still
    /// served while a refresh runs, and while the store is failing (marked possibly stale).
    pub results_stale_ttl_secs: u64,
    /// Milliseconds a results read waits for the store (including its turn behind another
    /// read of the same student) before answering `503` with `Retry-After`.
    pub results_store_timeout_ms: u64,
    /// The browser pages' cookie sessions.
    pub pages: crate::pages::PagesConfig,
    /// The circuit breaker around each engine.
    pub breaker: crate::breaker::BreakerConfig,
    pub links: LinksConfig,
    pub notify: NotifyConfig,
    /// The ledger's signing key and how often the head is signed.
    pub ledger: crate::services::ledger::LedgerConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:8080".parse().expect("valid default address"),
            metrics_listen: None,
            data_dir: PathBuf::from("data"),
            database_url: String::new(),
            queue_url: "embedded".into(),
            cache_url: "memory".into(),
            queue_namespace: "eportal".into(),
            cache_prefix: "eportal:".into(),
            cache_max_entries: 200_000,
            role: ProcessRole::All,
            log_format: LogFormat::Text,
            limits: Limits::default(),
            worker: WorkerConfig::default(),
            auth: AuthConfig::default(),
            workflow: WorkflowConfig::default(),
            results_cache_ttl_secs: 300,
            results_stale_ttl_secs: 86_400,
            results_store_timeout_ms: 2_000,
            pages: crate::pages::PagesConfig::default(),
            breaker: crate::breaker::BreakerConfig::default(),
            links: LinksConfig::default(),
            notify: NotifyConfig::default(),
            ledger: crate::services::ledger::LedgerConfig::default(),
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
    /// An unknown variable or file key is an error naming it (with the nearest known one),
    /// and every error names the setting as the operator wrote it.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Config> {
        let known = KnownKeys::of_config();
        // `vars_os`: a variable that is not Unicode (someone else's) must not stop eportal.
        let names = std::env::vars_os().filter_map(|(k, _)| k.into_string().ok());
        config_names::check_environment(names, &known).map_err(|e| anyhow::anyhow!(e))?;
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        let file = file
            .map(Path::to_path_buf)
            .or_else(|| std::env::var_os("EPORTAL_CONFIG").map(PathBuf::from));
        if let Some(f) = &file {
            if !f.exists() {
                bail!("configuration file {} does not exist", f.display());
            }
            config_names::check_file(&Figment::from(Toml::file(f)), f, &known)
                .map_err(|e| anyhow::anyhow!(e))?;
            fig = fig.merge(Toml::file(f));
        }
        fig = fig.merge(Env::prefixed("EPORTAL_").ignore(&["CONFIG"]).split("__"));
        let cfg: Config = fig.extract().map_err(|e| {
            anyhow::anyhow!(
                "invalid configuration: {}",
                e.into_iter()
                    .map(|e| config_names::describe(&fig, &e))
                    .collect::<Vec<_>>()
                    .join("; ")
            )
        })?;
        cfg.validate()
            .map_err(|e| anyhow::anyhow!(config_names::name_sources(&fig, &format!("{e:#}"))))?;
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
