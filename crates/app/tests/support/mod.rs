//! Shared parts of the cluster tests (`cluster_*.rs`): a deployment of real `eportal serve`
//! processes (and HAProxy) on loopback, over the test's own share of PostgreSQL, RabbitMQ and
//! Redis, with one data directory shared by every process as the operator's guide requires.
//!
//! A [`Deployment`] owns everything it starts: dropping it (test passed, failed or panicked)
//! kills every process with SIGKILL, then drops the test's database and queues.
//!
//! The regrade crash test (`regrade_crash.rs`) uses the same processes and engines through
//! its own [`regrade::Site`].

#![allow(dead_code)] // each test binary uses its own part of this module

pub mod broker;
pub mod client;
pub mod engines;
pub mod procs;
pub mod regrade;
pub mod semester;
pub mod verify;

use engines::Isolation;
use procs::{free_addr, Proc};
use std::net::SocketAddr;
use std::path::PathBuf;

/// One argon2id hash of the lecturers' password (hashing is slow on purpose).
pub async fn password_hash() -> String {
    tokio::task::spawn_blocking(|| {
        eportal::services::auth::hash_password_blocking(semester::PASSWORD)
    })
    .await
    .expect("hashing finishes")
}

/// Processes of one test deployment. Field order matters: processes are killed before the
/// database under them is dropped and before their run directory goes.
pub struct Deployment {
    pub portals: Vec<Proc>,
    pub workers: Vec<Proc>,
    pub haproxy: Option<Proc>,
    pub lb: Option<SocketAddr>,
    pub iso: Isolation,
    pub data_dir: PathBuf,
    pub run_dir: tempfile::TempDir,
    pub http: reqwest::Client,
    /// More `EPORTAL_*` settings for every process started from now on (fault hooks, limits).
    pub extra_env: Vec<(String, String)>,
}

impl Deployment {
    /// The test's share of the engines (checked first) and a run directory; nothing started.
    pub async fn new(case: &str, amqp_url: &str) -> Deployment {
        let iso = Isolation::create(case, amqp_url).await;
        // EPORTAL_TEST_KEEP_RUN_DIR=1 keeps the logs and data of every run for reading.
        let keep = std::env::var_os("EPORTAL_TEST_KEEP_RUN_DIR").is_some();
        let run_dir = tempfile::Builder::new()
            .prefix("eportal-cluster-")
            .disable_cleanup(keep)
            .tempdir()
            .expect("a run directory");
        if keep {
            eprintln!("run directory (kept): {}", run_dir.path().display());
        }
        let data_dir = run_dir.path().join("data");
        std::fs::create_dir_all(&data_dir).expect("the shared data directory");
        Deployment {
            portals: Vec::new(),
            workers: Vec::new(),
            haproxy: None,
            lb: None,
            iso,
            data_dir,
            run_dir,
            http: client::http_client(),
            extra_env: Vec::new(),
        }
    }

    fn process(&self, name: &str, role: &str) -> Proc {
        let mut env = self.iso.env();
        env.extend(self.extra_env.iter().cloned());
        let spec = procs::eportal(name, role, free_addr(), &self.data_dir, &env);
        Proc::new(spec, self.run_dir.path())
    }

    /// Starts `portals` portal and `workers` worker processes and waits until each serves.
    pub async fn start(&mut self, portals: usize, workers: usize) {
        for n in 1..=portals {
            let mut p = self.process(&format!("portal{n}"), "portal");
            p.start(&self.http).await;
            self.portals.push(p);
        }
        for n in 1..=workers {
            let mut w = self.process(&format!("worker{n}"), "worker");
            w.start(&self.http).await;
            self.workers.push(w);
        }
    }

    /// Where portal `i` listens.
    pub fn portal_addr(&self, i: usize) -> SocketAddr {
        listen_of(&self.portals[i])
    }

    /// Where worker `i` serves its operator's endpoints (/readyz, /metrics).
    pub fn worker_addr(&self, i: usize) -> SocketAddr {
        listen_of(&self.workers[i])
    }

    /// One series (name and labels exactly as exposed) of worker `i`'s /metrics; 0 if absent.
    pub async fn worker_metric(&self, i: usize, series: &str) -> u64 {
        let url = format!("http://{}/metrics", self.worker_addr(i));
        let text = match self.http.get(&url).send().await {
            Ok(res) => res.text().await.unwrap_or_default(),
            Err(e) => panic!(
                "{} does not answer /metrics: {e}",
                self.workers[i].spec.name
            ),
        };
        metric_value(&text, series)
    }

    /// One series summed over every worker's /metrics.
    pub async fn workers_metric(&self, series: &str) -> u64 {
        let mut sum = 0;
        for i in 0..self.workers.len() {
            sum += self.worker_metric(i, series).await;
        }
        sum
    }

    /// Starts HAProxy (configured from deploy/haproxy.cfg) in front of every portal and waits
    /// until it answers /readyz.
    pub async fn start_haproxy(&mut self) {
        let bin = engines::require_haproxy();
        let lb = free_addr();
        let portals: Vec<SocketAddr> = (0..self.portals.len())
            .map(|i| self.portal_addr(i))
            .collect();
        let spec = procs::haproxy(&bin, self.run_dir.path(), lb, &portals);
        let mut h = Proc::new(spec, self.run_dir.path());
        h.start(&self.http).await;
        self.haproxy = Some(h);
        self.lb = Some(lb);
    }

    /// The portal as clients see it: through HAProxy if it runs, else the first portal.
    pub fn entry(&self) -> client::Portal {
        let addr = self.lb.unwrap_or_else(|| self.portal_addr(0));
        client::Portal::new(format!("http://{addr}"))
    }

    /// Fails the test if a process that should be running has exited on its own.
    pub fn assert_all_running(&mut self) {
        for p in self
            .portals
            .iter_mut()
            .chain(self.workers.iter_mut())
            .chain(self.haproxy.iter_mut())
        {
            assert!(
                p.is_running(),
                "{} is no longer running; its log:\n{}",
                p.spec.name,
                p.tail(40)
            );
        }
    }
}

fn listen_of(p: &Proc) -> SocketAddr {
    let args = &p.spec.args;
    let at = args.iter().position(|a| a == "--listen").expect("--listen") + 1;
    args[at].parse().expect("a socket address")
}

/// The value of `series` in a Prometheus text exposition; 0 if it is not there.
pub fn metric_value(text: &str, series: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.parse::<f64>().ok())
        .map_or(0, |v| v as u64)
}
