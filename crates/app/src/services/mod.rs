//! The services: use cases that orchestrate the academic core over the ports. Entrypoints
//! (HTTP handlers, CLI commands, workers) call these and nothing below them; services never
//! name an engine, only the ports in [`Ports`].

pub mod amendments;
mod appointments;
pub mod auth;
pub mod documents;
pub mod duties;
mod faults;
pub mod forced_password;
pub mod hash_pool;
mod hashers;
pub mod import;
pub mod isolate;
pub mod ledger;
pub mod links;
pub mod people;
pub mod policies;
pub mod registry;
pub mod regrade;
pub mod relay;
pub mod results;
pub mod results_cache;
pub mod review;
pub mod scope;
pub mod sessions;
pub mod sheet_template;
mod sheet_verdict;
pub mod sheets;
pub mod supervisor;
pub mod teaching;
pub mod throttle;
pub mod warm;
pub mod worker;
pub mod workflow;
pub mod writer_turn;

use crate::config::Config;
use crate::telemetry::Metrics;
use eportal_core::{PolicyBook, Role};
use eportal_ports::{BlobStore, Cache, JobQueue, Notifier, PortError, RecordStore};
use std::sync::Arc;

/// The engines behind the ports, as chosen by configuration.
#[derive(Clone)]
pub struct Ports {
    pub store: Arc<dyn RecordStore>,
    pub queue: Arc<dyn JobQueue>,
    pub cache: Arc<dyn Cache>,
    /// Per-client rate limits (GCRA), kept where the cache is.
    pub rates: Arc<dyn eportal_ports::RateLimits>,
    pub blobs: Arc<dyn BlobStore>,
    /// Messages to students (results links).
    pub notifier: Arc<dyn Notifier>,
    /// Whether jobs reach the queue through the store's outbox and a relay (PostgreSQL +
    /// RabbitMQ); false when the store's job table is the queue itself (SQLite).
    pub uses_outbox_relay: bool,
    /// The circuit breakers the store, cache and queue above are wrapped in.
    pub breakers: crate::breaker::ports::Breakers,
}

/// Everything a use case needs. A handle: cloning it (every middleware layer and handler of
/// every request does) is one reference count, not one per field, so the read path does not
/// spend its time counting references on a contended cache line.
#[derive(Clone)]
pub struct Services(Arc<ServicesInner>);

impl std::ops::Deref for Services {
    type Target = ServicesInner;
    fn deref(&self) -> &ServicesInner {
        &self.0
    }
}

/// What a [`Services`] handle holds.
pub struct ServicesInner {
    pub ports: Ports,
    pub config: Arc<Config>,
    /// The grading policy books, and which is active.
    pub policies: Arc<policies::PolicyBooks>,
    pub metrics: Arc<Metrics>,
    pub auth: Arc<auth::AuthService>,
    /// Students whose cached results should be refilled (after publication).
    pub warmer: Arc<warm::Warmer>,
    /// Whether the process can serve real answers yet (`/readyz` says `starting` until then).
    pub startup: Arc<crate::app::Startup>,
    /// Coalescing of results loads, and whether the store is failing them.
    pub results_reads: Arc<results_cache::ResultsReads>,
    /// Results links: their key, and the messages waiting to be sent.
    pub links: Arc<links::Links>,
    /// The key that signs the ledger's head (from `ledger.key_file`, never the database).
    pub ledger_key: Arc<eportal_core::ledger::LedgerKey>,
    /// The slots in which transcripts and result slips are laid out.
    pub renders: Arc<documents::Renders>,
    /// The order in which this process's workers use a store with one writer.
    pub writer_turn: writer_turn::WriterTurn,
}

/// Who is asking: the signed-in account and its roles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub username: String,
    pub display_name: String,
    pub roles: Vec<Role>,
    /// The account's session version the token was signed at (see `Services::session_current`).
    pub session_version: u64,
    /// Signed in with a password the registry gave: until it is changed, only
    /// [`forced_password::ALLOWED`] routes answer.
    pub password_change_required: bool,
}

impl Principal {
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// Whether the account holds a registry or review role anywhere. Not an access check:
    /// an HOD's or dean's role reaches only their department or faculty (see [`scope`]).
    pub fn is_staff_reader(&self) -> bool {
        self.roles
            .iter()
            .any(|r| matches!(r, Role::Admin | Role::Hod | Role::Dean | Role::Senate))
    }
}

/// Why a use case refused or failed, in words for the person who asked.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{message}")]
    TooLarge { message: String },
    #[error("{message}")]
    UnsupportedMedia { message: String },
    #[error("wrong username or password")]
    BadCredentials,
    #[error("{message}")]
    Overloaded {
        message: String,
        retry_after_secs: u64,
    },
    /// Too many failed sign-ins: refused until `retry_after_secs` have passed (429).
    #[error("{message}")]
    Throttled {
        message: String,
        retry_after_secs: u64,
    },
    #[error("{0}")]
    Unavailable(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<PortError> for ServiceError {
    fn from(e: PortError) -> Self {
        match e {
            PortError::NotFound(what) => ServiceError::NotFound(format!("{what} not found")),
            PortError::Conflict(m) => ServiceError::Conflict(m),
            PortError::Invalid(m) => ServiceError::Invalid(m),
            e @ PortError::Unavailable { .. } => ServiceError::Unavailable(e.to_string()),
        }
    }
}

pub type ServiceResult<T> = Result<T, ServiceError>;

impl Services {
    pub fn new(
        ports: Ports,
        config: Config,
        book: PolicyBook,
        metrics: Arc<Metrics>,
        token_key: Vec<u8>,
        ledger_key: eportal_core::ledger::LedgerKey,
    ) -> Self {
        let auth = Arc::new(auth::AuthService::new(&config.auth, token_key));
        let links = Arc::new(links::Links::new(&auth, &config));
        let policies = Arc::new(policies::PolicyBooks::new(
            ports.store.clone(),
            book,
            policies::REFRESH_MS,
        ));
        let writer_turn = writer_turn::WriterTurn::new(!ports.uses_outbox_relay);
        Services(Arc::new(ServicesInner {
            ports,
            config: Arc::new(config),
            policies,
            metrics,
            auth,
            warmer: Arc::new(warm::Warmer::default()),
            startup: Arc::new(crate::app::Startup::default()),
            results_reads: Arc::new(results_cache::ResultsReads::default()),
            links,
            ledger_key: Arc::new(ledger_key),
            renders: Arc::new(documents::Renders::default()),
            writer_turn,
        }))
    }
}
