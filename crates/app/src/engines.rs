//! The composition root: turns the configured URLs into adapters behind the ports. This is
//! the one place outside the adapter crates that names an engine. A wrong or unreachable URL
//! fails here, at start, with a message naming the setting and the engine. Each adapter is
//! then wrapped in its engine's circuit breaker (see [`crate::breaker`]), after the migrations,
//! so that start-up still fails with the engine's own words.

use crate::breaker::ports::Breakers;
use crate::config::{redact, Config, DatabaseKind};
use crate::services::Ports;
use anyhow::Context;
use eportal_localfs::LocalBlobStore;
use eportal_memory::{LocalRateLimits, MemoryCache};
use eportal_notify::{FileNotifier, SmtpNotifier};
use eportal_postgres::{PgStore, PgStoreOptions};
use eportal_rabbitmq::RabbitQueue;
use eportal_redis::RedisCache;
use eportal_sqlite::SqliteStore;
use std::sync::Arc;
use std::time::Duration;

/// Connects every engine, runs the database migrations, and returns the ports.
pub async fn connect(config: &Config) -> anyhow::Result<Ports> {
    config.ensure_data_dir()?;
    let blobs = LocalBlobStore::open(config.data_dir.join("sheets"))
        .await
        .with_context(|| {
            format!(
                "EPORTAL_DATA_DIR: cannot use {} for uploaded sheets",
                config.data_dir.display()
            )
        })?;
    let cache_url = config.cache_url.trim();
    // Rate limits live where the cache does: in this process, or on the shared Redis so
    // that every portal counts against one limit.
    let (cache, rates): (
        Arc<dyn eportal_ports::Cache>,
        Arc<dyn eportal_ports::RateLimits>,
    ) = if cache_url == "memory" {
        (
            Arc::new(MemoryCache::new(config.cache_max_entries)),
            Arc::new(LocalRateLimits::new()),
        )
    } else {
        let redis = Arc::new(
            RedisCache::connect(cache_url, &config.cache_prefix, Duration::from_millis(250))
                .await
                .with_context(|| {
                    format!(
                        "EPORTAL_CACHE_URL: cannot reach Redis at {}",
                        redact(cache_url)
                    )
                })?,
        );
        (redis.clone(), redis)
    };
    let (store, queue, uses_outbox_relay): (
        Arc<dyn eportal_ports::RecordStore>,
        Arc<dyn eportal_ports::JobQueue>,
        bool,
    ) = match config.database()? {
        DatabaseKind::Sqlite(path) => {
            let store = SqliteStore::connect(&path).await.with_context(|| {
                format!("EPORTAL_DATABASE_URL: cannot open the SQLite database {path}")
            })?;
            store
                .migrate()
                .await
                .with_context(|| format!("cannot migrate the SQLite database {path}"))?;
            let queue = store.queue().with_order(config.worker.queue_order());
            (Arc::new(store), Arc::new(queue), false)
        }
        DatabaseKind::Postgres(url) => {
            let opts = PgStoreOptions {
                order: config.worker.queue_order(),
                ..PgStoreOptions::default()
            };
            let store = PgStore::connect_with(&url, &opts).await.with_context(|| {
                format!(
                    "EPORTAL_DATABASE_URL: cannot reach PostgreSQL at {}",
                    redact(&url)
                )
            })?;
            store
                .migrate()
                .await
                .context("cannot migrate the PostgreSQL database")?;
            let q = config.queue_url.trim();
            let prefetch = (config.worker.concurrency as u16).max(1);
            let queue = RabbitQueue::connect(q, &config.queue_namespace, prefetch)
                .await
                .with_context(|| {
                    format!("EPORTAL_QUEUE_URL: cannot reach RabbitMQ at {}", redact(q))
                })?;
            (Arc::new(store), Arc::new(queue), true)
        }
    };
    let breakers = Breakers::new(&config.breaker);
    let (store, cache, queue) = breakers.guard(store, cache, queue);
    Ok(Ports {
        store,
        queue,
        cache,
        rates,
        blobs: Arc::new(blobs),
        notifier: notifier(config).await?,
        uses_outbox_relay,
        breakers,
    })
}

/// Where messages to students go: the SMTP relay when one is configured, else a file of
/// messages in the data directory. The relay is first reached when a message is sent, so a
/// relay that is down delays no start.
async fn notifier(config: &Config) -> anyhow::Result<Arc<dyn eportal_ports::Notifier>> {
    let url = config.notify.smtp_url.trim();
    if url.is_empty() {
        let path = config.data_dir.join("outbox.jsonl");
        let file = FileNotifier::open(&path)
            .await
            .with_context(|| format!("EPORTAL_DATA_DIR: cannot write {}", path.display()))?;
        return Ok(Arc::new(file));
    }
    let timeout = Duration::from_secs(config.notify.timeout_secs);
    let smtp = SmtpNotifier::new(url, &config.notify.from, timeout).map_err(|e| {
        anyhow::anyhow!(
            "EPORTAL_NOTIFY__SMTP_URL '{}' or EPORTAL_NOTIFY__FROM: {e}",
            redact(url)
        )
    })?;
    Ok(Arc::new(smtp))
}
