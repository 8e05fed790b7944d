//! The application's lifecycle: build the services from configuration, start the roles this
//! process runs (HTTP portal, outbox relay, workers, the ledger's signer), and stop them
//! gracefully. Tests use the same path with port 0 and their own data directory.

use crate::config::Config;
use crate::engines;
use crate::http::serve::{serve, ConnectionRules};
use crate::services::auth::{new_token_key, TOKEN_KEY_SETTING};
use crate::services::Services;
use crate::telemetry::Metrics;
use anyhow::Context;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

/// Connections the separate `/metrics` address accepts at once (scrapers are few).
const METRICS_CONNECTIONS: usize = 64;

pub struct App {
    pub services: Services,
}

/// Whether the process can serve real answers yet; `/readyz` says `starting` until it can, so
/// a load balancer never sends students to a portal that would show them an empty result.
/// [`App::start`] marks it ready once every role runs, unless someone has held it first: the
/// demo holds it until its university is built and published.
#[derive(Debug, Default)]
pub struct Startup {
    held: AtomicBool,
    ready: AtomicBool,
}

impl Startup {
    /// Keeps the process `starting` past [`App::start`], until [`Startup::mark_ready`].
    pub fn hold(&self) {
        self.held.store(true, Ordering::Release);
    }

    pub fn mark_ready(&self) {
        self.ready.store(true, Ordering::Release);
    }

    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }
}

/// A started application.
pub struct Running {
    /// Where the process listens: the whole API for a portal, the operator's endpoints
    /// (`/healthz`, `/readyz`, `/metrics`) for a worker.
    pub addr: Option<SocketAddr>,
    /// Where `/metrics` is served when `metrics_listen` gives it an address of its own.
    pub metrics_addr: Option<SocketAddr>,
    pub services: Services,
    stop: watch::Sender<bool>,
    tasks: JoinSet<()>,
}

impl App {
    /// Connects the engines (migrating the database) and loads the active grading policy book.
    pub async fn build(config: Config) -> anyhow::Result<App> {
        config.validate()?;
        let ports = engines::connect(&config).await?;
        Self::with_ports(config, ports).await
    }

    /// Builds the services over already-connected ports.
    pub async fn with_ports(config: Config, ports: crate::services::Ports) -> anyhow::Result<App> {
        let book = ports.store.active_policy().await?.unwrap_or_default();
        let key_hex = ports
            .store
            .setting_or_init(TOKEN_KEY_SETTING, &new_token_key())
            .await?;
        let key = hex::decode(key_hex.trim()).context("the stored token key is not hex")?;
        let key_path = config.ledger.key_path(&config.data_dir);
        let ledger_key = crate::services::ledger::load_or_create_key(&key_path)?;
        let metrics = Arc::new(Metrics::new());
        ports.breakers.register(&metrics);
        Ok(App {
            services: Services::new(ports, config, book, metrics, key, ledger_key),
        })
    }

    /// Starts the roles of this process. `listener` overrides the configured address (tests
    /// pass a listener bound to port 0).
    pub async fn start(self, listener: Option<TcpListener>) -> anyhow::Result<Running> {
        let services = self.services;
        let role = services.config.role;
        let (stop, stopped) = watch::channel(false);
        let mut tasks = JoinSet::new();
        let listener = match listener {
            Some(l) => l,
            None => crate::http::serve::bind(services.config.listen).with_context(|| {
                format!(
                    "EPORTAL_LISTEN: cannot listen on {}",
                    services.config.listen
                )
            })?,
        };
        let addr = Some(listener.local_addr()?);
        let limits = &services.config.limits;
        let open_files = crate::http::serve::raise_open_file_limit();
        let rules = ConnectionRules {
            header_timeout: Duration::from_millis(limits.header_timeout_ms),
            max_connections: crate::http::serve::connection_cap(limits, open_files)?,
        };
        tracing::info!(
            open_files,
            max_connections = rules.max_connections,
            "connection limits"
        );
        // `/metrics` on an address of its own, with a few connections of its own, so a
        // flood of the public address cannot blind the operator.
        let metrics_addr = match services.config.metrics_listen {
            Some(at) => {
                let l = crate::http::serve::bind(at)
                    .with_context(|| format!("EPORTAL_METRICS_LISTEN: cannot listen on {at}"))?;
                let metrics_addr = l.local_addr()?;
                let router = crate::http::metrics_router(services.clone());
                let rules = ConnectionRules {
                    max_connections: METRICS_CONNECTIONS,
                    ..rules.clone()
                };
                let metrics = services.metrics.clone();
                tasks.spawn(serve(l, router, None, rules, metrics, stopped.clone()));
                Some(metrics_addr)
            }
            None => None,
        };
        // A portal serves the whole API; a worker only the operator's endpoints.
        let (router, fast) = if role.runs_portal() {
            let (router, fast) = crate::http::portal(services.clone());
            (router, Some(fast))
        } else {
            (crate::http::ops_router(services.clone()), None)
        };
        {
            let metrics = services.metrics.clone();
            tasks.spawn(serve(
                listener,
                router,
                fast,
                rules,
                metrics,
                stopped.clone(),
            ));
            if role.runs_portal() {
                let me = services.clone();
                let s = stopped.clone();
                tasks.spawn(async move { me.run_warmer(s).await });
                let me = services.clone();
                let s = stopped.clone();
                tasks.spawn(async move { me.run_link_sender(s).await });
            }
            // Every process relays: jobs written by a worker (a regrade's next phase) reach
            // the queue even where no portal runs.
            if services.ports.uses_outbox_relay {
                let me = services.clone();
                let s = stopped.clone();
                tasks.spawn(async move { me.run_relay(s).await });
            }
        }
        if role.runs_workers() {
            let me = services.clone();
            let s = stopped.clone();
            tasks.spawn(async move { me.run_workers(s).await });
        }
        {
            let me = services.clone();
            let s = stopped.clone();
            tasks.spawn(async move { me.run_ledger_signer(s).await });
        }
        if !services.startup.held.load(Ordering::Acquire) {
            services.startup.mark_ready();
        }
        Ok(Running {
            addr,
            metrics_addr,
            services,
            stop,
            tasks,
        })
    }
}

impl Running {
    /// Stops every role and waits for in-flight work to finish.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        while self.tasks.join_next().await.is_some() {}
        // The work in hand is finished: sign the head it leaves.
        if let Err(e) = self.services.sign_ledger_head().await {
            tracing::warn!(error = %e, "cannot sign the ledger's head at shutdown");
        }
    }

    /// Runs until Ctrl-C or SIGTERM, then shuts down gracefully.
    pub async fn until_signalled(self) {
        shutdown_signal().await;
        tracing::info!("shutting down");
        self.shutdown().await;
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
