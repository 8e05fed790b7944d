//! What the RabbitMQ tests share: the shared broker's URL, handles on fresh namespaces that
//! delete their queues when the last one is dropped, and a private broker node for tests that
//! stop RabbitMQ (the shared node is never stopped).
//!
//! Test namespaces carry the test process id, so queues a crashed or killed run left behind
//! are found and deleted by the next run.

#![allow(dead_code)] // each test binary uses its own part of this module

use eportal_ports::{Delivery, JobQueue, PortError, QueueStats};
use eportal_rabbitmq::RabbitQueue;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, LazyLock, Mutex, Once};
use std::time::Duration;

pub const PREFETCH: u16 = 16;
const NS_PREFIX: &str = "eportal-test";

pub fn shared_url() -> String {
    std::env::var("EPORTAL_TEST_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
}

/// A namespace no other test or run uses, recognisable as a test namespace of this process.
pub fn unique_ns(case: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{NS_PREFIX}.{}.{case}.{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

pub async fn connect(url: &str, ns: &str) -> RabbitQueue {
    match RabbitQueue::connect(url, ns, PREFETCH).await {
        Ok(q) => q,
        Err(e) => panic!(
            "RabbitMQ is unreachable at {url} ({e}); start it with ./scripts/services \
             (or point EPORTAL_TEST_AMQP_URL at a broker)"
        ),
    }
}

/// A handle on `ns` of the shared broker that takes part in the namespace's clean-up.
pub async fn open(ns: &str) -> Arc<dyn JobQueue> {
    sweep_dead_runs_once();
    let q = connect(&shared_url(), ns).await;
    *OPEN.lock().unwrap().entry(ns.to_owned()).or_default() += 1;
    Arc::new(Cleaned {
        inner: Some(q),
        ns: ns.to_owned(),
    })
}

/// Handles open per namespace: the queues go when the last handle does.
static OPEN: LazyLock<Mutex<HashMap<String, usize>>> = LazyLock::new(Default::default);

/// How long a namespace with no handle is kept before its queues are deleted: a test that
/// drops a handle and opens the namespace again (a worker restarting) must find its jobs.
const GRACE: Duration = Duration::from_secs(3);

struct Cleaned {
    inner: Option<RabbitQueue>,
    ns: String,
}

impl Cleaned {
    fn q(&self) -> &RabbitQueue {
        self.inner.as_ref().expect("present until dropped")
    }
}

impl Drop for Cleaned {
    fn drop(&mut self) {
        drop(self.inner.take());
        let mut open = OPEN.lock().unwrap();
        let n = open.entry(self.ns.clone()).or_default();
        *n = n.saturating_sub(1);
        if *n > 0 {
            return;
        }
        drop(open);
        let ns = self.ns.clone();
        // Best effort: the test process may exit before the grace ends; the next run's sweep
        // then deletes the queues.
        std::thread::spawn(move || {
            std::thread::sleep(GRACE);
            if OPEN.lock().unwrap().get(&ns).copied().unwrap_or(0) == 0 {
                delete_blocking(&shared_url(), &ns);
            }
        });
    }
}

fn delete_blocking(url: &str, ns: &str) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime for clean-up");
    let _ = rt.block_on(RabbitQueue::delete_namespace(url, ns));
}

/// Deletes the queues of test namespaces whose process is gone, once per test process and
/// before its first test goes on (a detached sweep would die with a short test run). Needs
/// rabbitmqctl on this machine, so it only runs against a local broker.
fn sweep_dead_runs_once() {
    static SWEEP: Once = Once::new();
    SWEEP.call_once(|| {
        let url = shared_url();
        if !url.contains("@127.0.0.1:") && !url.contains("@localhost:") {
            return;
        }
        let sweep = std::thread::spawn(move || {
            let Ok(out) = Command::new("rabbitmqctl")
                .args(["-q", "list_queues", "name"])
                .output()
            else {
                return;
            };
            let listing = String::from_utf8_lossy(&out.stdout);
            let mut stale: Vec<String> = listing
                .lines()
                .filter_map(|name| stale_namespace(name.trim()))
                .collect();
            stale.sort();
            stale.dedup();
            for ns in stale {
                delete_blocking(&url, &ns);
            }
        });
        let _ = sweep.join();
    });
}

/// `eportal-test.{pid}.{case}.{n}.jobs…` (and the contract suite's `contract.{case}.{pid}.…`)
/// of a process that no longer runs → its namespace.
fn stale_namespace(queue: &str) -> Option<String> {
    let ns = &queue[..queue.find(".jobs")?];
    let parts: Vec<&str> = ns.split('.').collect();
    let pid = match parts.as_slice() {
        [NS_PREFIX, pid, ..] => pid,
        ["contract", _case, pid, ..] => pid,
        _ => return None,
    };
    let pid: u32 = pid.parse().ok()?;
    (!Path::new(&format!("/proc/{pid}")).exists()).then(|| ns.to_owned())
}

#[async_trait::async_trait]
impl JobQueue for Cleaned {
    async fn publish(&self, e: &eportal_core::jobs::Envelope) -> Result<(), PortError> {
        self.q().publish(e).await
    }
    async fn receive(&self, lease: Duration) -> Result<Option<Delivery>, PortError> {
        self.q().receive(lease).await
    }
    async fn ack(&self, d: &Delivery) -> Result<(), PortError> {
        self.q().ack(d).await
    }
    async fn retry(&self, d: &Delivery, delay: Duration, error: &str) -> Result<(), PortError> {
        self.q().retry(d, delay, error).await
    }
    async fn dead_letter(&self, d: &Delivery, error: &str) -> Result<(), PortError> {
        self.q().dead_letter(d, error).await
    }
    async fn stats(&self) -> Result<QueueStats, PortError> {
        self.q().stats().await
    }
}

/// A RabbitMQ node of the test's own (own name, ports and data directory), started and
/// stopped through scripts/rabbitmq-private. Stopped when dropped.
pub struct PrivateBroker {
    pub dir: tempfile::TempDir,
    pub port: u16,
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../scripts/rabbitmq-private")
}

impl PrivateBroker {
    pub fn start() -> PrivateBroker {
        let dir = tempfile::Builder::new()
            .prefix("eportal-rabbitmq-")
            .tempdir()
            .expect("temp dir");
        let port = free_port_pair();
        let b = PrivateBroker { dir, port };
        b.run("start");
        b
    }

    pub fn url(&self) -> String {
        format!("amqp://guest:guest@127.0.0.1:{}/%2f", self.port)
    }

    pub fn run(&self, action: &str) {
        let out = Command::new(script())
            .arg(action)
            .arg(self.dir.path())
            .arg(self.port.to_string())
            .output()
            .expect("run scripts/rabbitmq-private");
        assert!(
            out.status.success(),
            "scripts/rabbitmq-private {action} failed (RabbitMQ must be installed: ./scripts/services):\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for PrivateBroker {
    fn drop(&mut self) {
        let _ = Command::new(script())
            .arg("stop")
            .arg(self.dir.path())
            .arg(self.port.to_string())
            .output();
    }
}

/// A port for AMQP whose distribution port (+20000, as the script uses) is free too.
fn free_port_pair() -> u16 {
    for _ in 0..200 {
        let port = 20_000 + rand_u16() % 20_000;
        let free = |p: u16| std::net::TcpListener::bind(("127.0.0.1", p)).is_ok();
        if free(port) && free(port + 20_000) {
            return port;
        }
    }
    panic!("no free port pair for a private RabbitMQ node");
}

fn rand_u16() -> u16 {
    rand::random()
}
