//! Test helpers: the shared Redis of this machine, and private redis-server processes for
//! tests that kill or pause their engine (the shared one is never touched that way).

#![allow(dead_code)] // each test file uses its own part of this module

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The shared Redis, unless `EPORTAL_TEST_REDIS_URL` says otherwise.
pub fn shared_url() -> String {
    std::env::var("EPORTAL_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// A key prefix no other test (in this or any other process) uses.
pub fn unique_prefix() -> String {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    format!(
        "eportal-test:{}:{}:{}",
        std::process::id(),
        eportal_ports::now_ms(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    )
}

/// A TCP port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A redis-server child process of this test only, without persistence, killed on drop.
pub struct PrivateRedis {
    pub port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl PrivateRedis {
    pub fn start() -> Self {
        let mut redis = PrivateRedis {
            port: free_port(),
            dir: tempfile::tempdir().unwrap(),
            child: None,
        };
        redis.restart();
        redis
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts the server (again) on the same port and waits until it accepts connections.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "the private Redis is already running");
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start redis-server ({e}); install Redis with ./scripts/services")
            });
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "the private redis-server on port {} did not start",
                self.port
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `kill -9`, and waits until the process is gone.
    pub fn kill(&mut self) {
        let mut child = self.child.take().expect("the private Redis is not running");
        child.kill().unwrap();
        child.wait().unwrap();
    }

    /// Sends a signal (`STOP`, `CONT`) to the server: a stopped server keeps its
    /// connections open but answers nothing, like a hung one.
    pub fn signal(&self, name: &str) {
        let pid = self.child.as_ref().expect("not running").id();
        let status = Command::new("kill")
            .args([&format!("-{name}"), &pid.to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -{name} {pid} failed");
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
