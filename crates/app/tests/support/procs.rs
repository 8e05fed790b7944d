//! eportal and HAProxy as real child processes: started with their own log file, waited on
//! until they serve, killed with SIGKILL (`kill -9`) and started again on the same port.
//!
//! Every process is killed when its [`Proc`] is dropped, so a test that fails or panics at
//! any point leaves nothing running; a failing test prints the end of every process's log.
//! Nothing here may send a process anything gentler than SIGKILL in a crash test, or the
//! test would prove less than it claims.

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// How long a process may take to start serving (it connects three engines and migrates).
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A free TCP port on loopback (free now; the process bound to it next will take it).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on 127.0.0.1")
}

pub fn free_addr() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], free_port()))
}

/// What to run, and how to recognise that it serves.
#[derive(Debug, Clone)]
pub struct Spec {
    pub name: String,
    pub program: PathBuf,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    /// A line the process prints once it is up, if it prints one.
    pub ready_line: Option<&'static str>,
    /// A URL that answers 200 once it is ready, if it serves HTTP.
    pub ready_url: Option<String>,
}

/// An `eportal serve` process of one role, on the given engines and data directory.
pub fn eportal(
    name: &str,
    role: &str,
    listen: SocketAddr,
    data_dir: &Path,
    env: &[(String, String)],
) -> Spec {
    let mut all: Vec<(String, String)> = vec![
        ("EPORTAL_LOG_FORMAT".into(), "text".into()),
        // A crashed worker's job must come back soon, and idle workers look often.
        ("EPORTAL_WORKER__LEASE_MS".into(), "2000".into()),
        ("EPORTAL_WORKER__POLL_MS".into(), "50".into()),
        ("RUST_LOG".into(), "info".into()),
        // Logs are read as text files, not on a terminal.
        ("NO_COLOR".into(), "1".into()),
    ];
    // `EPORTAL_TEST_DISCIPLINE=sjf cargo test …` runs the deployment under that discipline.
    if let Some(d) = std::env::var("EPORTAL_TEST_DISCIPLINE")
        .ok()
        .filter(|d| !d.is_empty())
    {
        all.push(("EPORTAL_WORKER__DISCIPLINE".into(), d));
    }
    all.extend(env.iter().cloned());
    Spec {
        name: name.to_string(),
        program: PathBuf::from(env!("CARGO_BIN_EXE_eportal")),
        args: vec![
            "serve".into(),
            "--role".into(),
            role.into(),
            "--listen".into(),
            listen.to_string(),
            "--data-dir".into(),
            data_dir.display().to_string(),
        ],
        env: all,
        // Every role listens: a worker serves the operator's endpoints (/readyz, /metrics).
        ready_line: Some("eportal listening on"),
        ready_url: Some(format!("http://{listen}/readyz")),
    }
}

/// A child process with its log; killed when dropped.
pub struct Proc {
    pub spec: Spec,
    pub log: PathBuf,
    child: Option<Child>,
}

impl Proc {
    pub fn new(spec: Spec, log_dir: &Path) -> Proc {
        let log = log_dir.join(format!("{}.log", spec.name));
        Proc {
            spec,
            log,
            child: None,
        }
    }

    /// Starts the process (its output is appended to its log) without waiting.
    pub fn spawn(&mut self) {
        assert!(
            self.child.is_none(),
            "{} is already running",
            self.spec.name
        );
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap_or_else(|e| panic!("cannot open {}: {e}", self.log.display()));
        let err = log.try_clone().expect("a second handle on the log");
        let mut cmd = Command::new(&self.spec.program);
        // The developer's own EPORTAL_* settings must not leak into a test deployment.
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("EPORTAL_") {
                cmd.env_remove(k);
            }
        }
        cmd.args(&self.spec.args)
            .envs(self.spec.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err);
        let child = cmd.spawn().unwrap_or_else(|e| {
            panic!(
                "cannot start {} ({}): {e}",
                self.spec.name,
                self.spec.program.display()
            )
        });
        self.child = Some(child);
    }

    /// Starts the process and waits until it prints its ready line and, if it serves HTTP,
    /// its readiness URL answers 200.
    pub async fn start(&mut self, http: &reqwest::Client) {
        let printed_before = |p: &Proc| p.spec.ready_line.map_or(0, |l| count(&read(&p.log), l));
        let before = printed_before(self);
        self.spawn();
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(status) = self.exited() {
                panic!(
                    "{} exited ({status}) while starting; its log:\n{}",
                    self.spec.name,
                    self.tail(40)
                );
            }
            let printed = self.spec.ready_line.is_none() || printed_before(self) > before;
            let ready = match (&self.spec.ready_url, printed) {
                (_, false) => false,
                (None, true) => true,
                (Some(url), true) => matches!(
                    http.get(url).send().await,
                    Ok(r) if r.status() == reqwest::StatusCode::OK
                ),
            };
            if ready {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{} did not become ready within {} s; its log:\n{}",
                self.spec.name,
                START_TIMEOUT.as_secs(),
                self.tail(40)
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// SIGKILL, then reap: what `kill -9` does to a process that gets no say in it.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The exit status, if the process has ended on its own.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        let child = self.child.as_mut()?;
        match child.try_wait() {
            Ok(Some(status)) => {
                self.child = None;
                Some(status)
            }
            _ => None,
        }
    }

    pub fn is_running(&mut self) -> bool {
        self.child.is_some() && self.exited().is_none()
    }

    /// The last `lines` lines of the process's log.
    pub fn tail(&self, lines: usize) -> String {
        let text = read(&self.log);
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if std::thread::panicking() && self.log.exists() {
            eprintln!(
                "--- last lines of {} ---\n{}",
                self.spec.name,
                self.tail(25)
            );
        }
        self.kill9();
    }
}

fn read(path: &Path) -> String {
    let mut s = String::new();
    if let Ok(mut f) = File::open(path) {
        let _ = f.read_to_string(&mut s);
    }
    s
}

fn count(text: &str, needle: &str) -> usize {
    text.matches(needle).count()
}

/// `deploy/haproxy.cfg` with every backend's `server portalN` lines replaced by one line per
/// portal, each modelled on the file's `portal1` line (so its check settings are kept), and
/// each address taken from `LB_PORTAL_{n}` as the file does.
pub fn haproxy_config(template: &str, portals: usize) -> String {
    let mut out = String::new();
    for line in template.lines() {
        let t = line.trim_start();
        if t.starts_with("server portal1 ") {
            for n in 1..=portals {
                out.push_str(
                    &line
                        .replace("portal1", &format!("portal{n}"))
                        .replace("LB_PORTAL_1", &format!("LB_PORTAL_{n}")),
                );
                out.push('\n');
            }
        } else if !t.starts_with("server portal") {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// An HAProxy process in front of `portals`, configured from `deploy/haproxy.cfg`.
pub fn haproxy(bin: &str, run_dir: &Path, lb: SocketAddr, portals: &[SocketAddr]) -> Spec {
    let template_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/haproxy.cfg");
    let template = std::fs::read_to_string(&template_path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", template_path.display()));
    let config = run_dir.join("haproxy.cfg");
    std::fs::write(&config, haproxy_config(&template, portals.len())).expect("write haproxy.cfg");
    let mut env = vec![
        ("LB_BIND".to_string(), lb.to_string()),
        ("LB_STATS".to_string(), free_addr().to_string()),
        (
            "LB_SOCKET".to_string(),
            run_dir.join("haproxy.sock").display().to_string(),
        ),
    ];
    for (i, p) in portals.iter().enumerate() {
        env.push((format!("LB_PORTAL_{}", i + 1), p.to_string()));
    }
    let check = Command::new(bin)
        .args(["-c", "-f"])
        .arg(&config)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap_or_else(|e| {
            panic!("HAProxy ({bin}) cannot run: {e}; install it with ./scripts/services")
        });
    assert!(
        check.status.success(),
        "HAProxy refuses the configuration built from deploy/haproxy.cfg:\n{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
    Spec {
        name: "haproxy".into(),
        program: PathBuf::from(bin),
        args: vec!["-db".into(), "-f".into(), config.display().to_string()],
        env,
        ready_line: None,
        ready_url: Some(format!("http://{lb}/readyz")),
    }
}
