//! Running the built `eportal` binary in tests: one-shot commands, and long-running ones
//! (`serve`, `demo`) whose printed lines are read as they come, so a test learns the
//! address a process chose for `--listen 127.0.0.1:0` instead of guessing a free port.
//!
//! Every child is killed when its [`Child`] is dropped, so a failing test leaves nothing
//! running, and its log (stderr, kept in a file) is printed to help the diagnosis.

#![allow(dead_code)] // each test file uses a different part of this module

use eportal::services::Services;
use eportal::{App, Config};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The binary with a clean environment (no `EPORTAL_*` from the caller) and quiet logs.
pub fn eportal(data_dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_eportal"));
    for (k, _) in std::env::vars() {
        if k.starts_with("EPORTAL_") {
            c.env_remove(k);
        }
    }
    c.env("RUST_LOG", "warn")
        .env("EPORTAL_DATA_DIR", data_dir)
        .stdin(Stdio::null());
    if let Some(d) = test_discipline() {
        c.env("EPORTAL_WORKER__DISCIPLINE", d);
    }
    c
}

/// `EPORTAL_TEST_DISCIPLINE=sjf cargo test …` runs the processes a test starts under that
/// queue discipline (`scripts/test --disciplines` runs the crash and cluster tests under each).
pub fn test_discipline() -> Option<String> {
    std::env::var("EPORTAL_TEST_DISCIPLINE")
        .ok()
        .filter(|d| !d.is_empty())
}

/// Runs a command to the end.
pub fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("the eportal binary runs")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The exit code, stdout and stderr of a finished command.
pub fn outcome(out: &Output) -> (i32, String, String) {
    (
        out.status.code().unwrap_or(-1),
        text(&out.stdout),
        text(&out.stderr),
    )
}

/// A long-running eportal process.
pub struct Child {
    child: std::process::Child,
    lines: mpsc::Receiver<String>,
    /// Every stdout line read so far.
    pub seen: Vec<String>,
    log: PathBuf,
}

impl Child {
    /// Starts `cmd` with stdout read line by line and stderr written to `log`.
    pub fn spawn(mut cmd: Command, log: PathBuf) -> Child {
        let err = std::fs::File::create(&log).expect("a log file");
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::from(err))
            .spawn()
            .expect("the eportal binary starts");
        let out = child.stdout.take().expect("piped stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Child {
            child,
            lines,
            seen: Vec::new(),
            log,
        }
    }

    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Reads stdout until a line contains `needle`; panics with the output and log after
    /// `timeout` or if the process exits first.
    pub fn wait_for(&mut self, needle: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self
                .lines
                .recv_timeout(left.min(Duration::from_millis(200)))
            {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) if Instant::now() < deadline => {
                    if let Ok(Some(status)) = self.child.try_wait() {
                        // Drain what it printed before exiting.
                        while let Ok(l) = self.lines.try_recv() {
                            self.seen.push(l);
                        }
                        panic!(
                            "eportal exited ({status}) before printing '{needle}'\nstdout:\n{}\nlog:\n{}",
                            self.seen.join("\n"),
                            self.log_tail()
                        );
                    }
                }
                Err(_) => panic!(
                    "eportal did not print '{needle}' within {timeout:?}\nstdout:\n{}\nlog:\n{}",
                    self.seen.join("\n"),
                    self.log_tail()
                ),
            }
        }
    }

    /// The `http://host:port` the process printed it listens on.
    pub fn wait_listening(&mut self, timeout: Duration) -> String {
        let line = self.wait_for("listening on http://", timeout);
        let at = line.find("http://").expect("a URL");
        line[at..]
            .split_whitespace()
            .next()
            .expect("a URL")
            .to_string()
    }

    /// How the process ended, if it has ended on its own.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// `kill -9`: no chance to finish anything.
    pub fn kill_hard(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then waits (bounded) for a graceful exit; returns the exit code.
    pub fn stop(&mut self, timeout: Duration) -> Option<i32> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(s)) = self.child.try_wait() {
                return s.code();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.kill_hard();
        None
    }

    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.kill_hard();
        }
        if std::thread::panicking() {
            eprintln!("--- eportal log ---\n{}", self.log_tail());
        }
    }
}

/// The services of a data directory, opened in the test process (to check what a command
/// stored). Drop them before starting another process on the same directory.
pub async fn open(data_dir: &Path) -> Services {
    let mut config = Config {
        data_dir: data_dir.to_path_buf(),
        ..Config::default()
    };
    // Opened inside a test binary: sheets are read by the real eportal executable.
    config.worker.sheet_parser = Some(env!("CARGO_BIN_EXE_eportal").into());
    App::build(config)
        .await
        .expect("the data directory opens")
        .services
}

/// The usernames `eportal demo` printed for one kind of account ("student", "hod", …).
pub fn accounts(lines: &[String], kind: &str) -> Vec<String> {
    lines
        .iter()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            (w.next() == Some(kind))
                .then(|| w.next().map(str::to_string))
                .flatten()
        })
        .collect()
}

/// Signs in over HTTP; returns the bearer token.
pub async fn login(http: &reqwest::Client, base: &str, username: &str, password: &str) -> String {
    let res = http
        .post(format!("{base}/api/v1/auth/login"))
        .json(&serde_json::json!({ "username": username, "password": password }))
        .send()
        .await
        .expect("the portal answers");
    let status = res.status();
    let body: serde_json::Value = res.json().await.expect("a JSON body");
    assert_eq!(status, 200, "signing in as {username}: {body}");
    body["token"].as_str().expect("a token").to_string()
}

/// Signs in for the first time as an imported account: the registry's password must be
/// changed first, so it is changed (to the same with "-own" added) and the token of the new
/// session is returned.
pub async fn first_sign_in(
    http: &reqwest::Client,
    base: &str,
    username: &str,
    password: &str,
) -> String {
    let res = http
        .post(format!("{base}/api/v1/auth/login"))
        .json(&serde_json::json!({ "username": username, "password": password }))
        .send()
        .await
        .expect("the portal answers");
    let body: serde_json::Value = res.json().await.expect("a JSON body");
    assert_eq!(
        body["password_change_required"], true,
        "an imported account must change its password: {body}"
    );
    let token = body["token"].as_str().expect("a token");
    let res = http
        .post(format!("{base}/api/v1/auth/password"))
        .bearer_auth(token)
        .json(&serde_json::json!({
            "current_password": password,
            "new_password": format!("{password}-own"),
        }))
        .send()
        .await
        .expect("the portal answers");
    let status = res.status();
    let body: serde_json::Value = res.json().await.expect("a JSON body");
    assert_eq!(status, 200, "changing the password of {username}: {body}");
    body["token"].as_str().expect("a token").to_string()
}
