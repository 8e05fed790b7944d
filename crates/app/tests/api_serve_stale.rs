//! Results day with the record store gone: the portal runs on a PostgreSQL of its own that
//! the test starts (initdb + pg_ctl on a free port in a temporary directory), caches one
//! student's results, and then that PostgreSQL is stopped. The cached student must still be
//! served — marked possibly stale in the headers and on the page — and a student with nothing
//! cached must get a `503` with `Retry-After` promptly, never a hang. Once PostgreSQL is back on
//! the same port, reads are fresh again.
//!
//! The shared PostgreSQL is never touched; the queue is the shared RabbitMQ under a namespace
//! of this test's own, deleted at the end.

mod browser;
mod common;
mod support;

use browser::Browser;
use common::university::STUDENTS;
use common::{path_matric, problem, spawn_app_with, TestApp, PASSWORD};
use reqwest::header::{ETAG, RETRY_AFTER, WARNING};
use reqwest::StatusCode;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use support::engines::amqp_url;
use support::procs::free_port;

const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

/// A PostgreSQL cluster of this test's own, stopped (immediately) when dropped.
struct PrivatePostgres {
    port: u16,
    data: PathBuf,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl PrivatePostgres {
    fn start() -> PrivatePostgres {
        let bin = std::env::var("EPORTAL_TEST_PG_BIN").unwrap_or_else(|_| PG_BIN.into());
        assert!(
            Path::new(&bin).join("initdb").exists(),
            "PostgreSQL's initdb is not in {bin}: install PostgreSQL with ./scripts/services (or set EPORTAL_TEST_PG_BIN)"
        );
        let dir = tempfile::tempdir().expect("a temporary directory");
        let data = dir.path().join("data");
        let log = dir.path().join("postgres.log");
        // PostgreSQL refuses to run as root: then the cluster belongs to the postgres user.
        if as_root() {
            let (uid, gid) = postgres_ids();
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).expect("chown");
        }
        let ok = pg_command(&bin, "initdb")
            .args([
                "-D",
                path(&data),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
            ])
            .arg("--no-sync")
            .output()
            .expect("initdb runs");
        assert!(
            ok.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&ok.stderr)
        );
        let pg = PrivatePostgres {
            port: free_port(),
            data,
            log,
            _dir: dir,
        };
        pg.resume();
        pg
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn ctl(&self, args: &[&str]) -> std::process::Output {
        let bin = std::env::var("EPORTAL_TEST_PG_BIN").unwrap_or_else(|_| PG_BIN.into());
        pg_command(&bin, "pg_ctl")
            .args(["-D", path(&self.data)])
            .args(args)
            .output()
            .expect("pg_ctl runs")
    }

    /// Starts (or starts again) the server on its port and waits until it accepts connections.
    fn resume(&self) {
        let opts = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c fsync=off",
            self.port
        );
        let out = self.ctl(&[
            "-l",
            path(&self.log),
            "-o",
            &opts,
            "-w",
            "-t",
            "30",
            "start",
        ]);
        assert!(
            out.status.success(),
            "the private PostgreSQL did not start: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(&self.log).unwrap_or_default()
        );
    }

    /// Stops the server at once (connections cut), as a crash of the database would.
    fn stop(&self) {
        let out = self.ctl(&["-m", "immediate", "-w", "stop"]);
        assert!(
            out.status.success(),
            "the private PostgreSQL did not stop: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let _ = self.ctl(&["-m", "immediate", "-w", "stop"]);
    }
}

fn path(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 temporary path")
}

fn as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

fn postgres_ids() -> (u32, u32) {
    let id = |flag: &str| -> u32 {
        let o = Command::new("id")
            .args([flag, "postgres"])
            .output()
            .expect("id runs");
        String::from_utf8_lossy(&o.stdout)
            .trim()
            .parse()
            .expect("running as root needs a 'postgres' user to own the private cluster")
    };
    (id("-u"), id("-g"))
}

fn pg_command(bin: &str, tool: &str) -> Command {
    let program = Path::new(bin).join(tool);
    if as_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

async fn read(app: &TestApp, token: &str, matric: &str) -> reqwest::Response {
    let path = format!("/api/v1/students/{}/results", path_matric(matric));
    app.get(&path, Some(token)).await
}

fn is_stale(res: &reqwest::Response) -> bool {
    res.headers()
        .get("x-eportal-stale")
        .is_some_and(|v| v == "1")
}

#[tokio::test]
async fn cached_results_are_served_marked_stale_while_the_store_is_down() {
    let pg = PrivatePostgres::start();
    let namespace = format!("eportal-test.{}.serve-stale.0", std::process::id());
    let amqp = amqp_url();
    let app = spawn_app_with(|c| {
        c.database_url = pg.url();
        c.queue_url = amqp.clone();
        c.queue_namespace = namespace.clone();
        c.results_store_timeout_ms = 1_000;
    })
    .await;
    let (cached, uncached) = (STUDENTS[0], STUDENTS[1]);

    // Ada reads her results (now cached), in the API and on her page; Bola signs in and is
    // refused Ada's, so his session is known but his own results are not cached.
    let ada = app.login(cached).await;
    let res = read(&app, &ada, cached).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(!is_stale(&res), "fresh results are not marked");
    let etag = res.headers()[ETAG].clone();
    let before: serde_json::Value = res.json().await.unwrap();
    let mut page = Browser::new(&app.base);
    page.sign_in(cached, PASSWORD).await;
    let p = page.get("/results").await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    assert!(
        !p.body.contains("stale-notice"),
        "no notice while the store answers"
    );
    let bola = app.login(uncached).await;
    assert_eq!(
        read(&app, &bola, cached).await.status(),
        StatusCode::FORBIDDEN
    );

    pg.stop();

    // Bola's results were never cached: a 503 with Retry-After, within the store timeout.
    let started = Instant::now();
    let res = read(&app, &bola, uncached).await;
    let took = started.elapsed();
    assert!(res.headers().contains_key(RETRY_AFTER), "Retry-After");
    problem(res, StatusCode::SERVICE_UNAVAILABLE).await;
    assert!(
        took < Duration::from_secs(3),
        "an uncached read with the store down took {took:?}"
    );

    // Ada's are served from the cache, marked as possibly stale, with the same body.
    for _ in 0..20 {
        let started = Instant::now();
        let res = read(&app, &ada, cached).await;
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "a cached read waited"
        );
        assert_eq!(res.status(), StatusCode::OK);
        assert!(is_stale(&res), "marked stale while the store is down");
        assert_eq!(
            res.headers()[WARNING].to_str().unwrap(),
            "110 - \"Response is stale\""
        );
        assert_eq!(res.headers()[ETAG], etag);
        assert_eq!(res.json::<serde_json::Value>().await.unwrap(), before);
    }
    let p = page.get("/results").await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    assert!(
        p.body.contains("id=\"stale-notice\"") && p.body.contains("may be out of date"),
        "the page says the results may be out of date: {}",
        p.body
    );

    // PostgreSQL comes back on the same port: a background probe finds it, and reads are
    // fresh again — Ada's unmarked, Bola's loaded.
    pg.resume();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let res = read(&app, &ada, cached).await;
        assert_eq!(res.status(), StatusCode::OK);
        if !is_stale(&res) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "reads still marked stale 20 s after PostgreSQL came back"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let res = read(&app, &bola, uncached).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(!is_stale(&res));
    let p = page.get("/results").await;
    assert!(!p.body.contains("stale-notice"), "{}", p.body);

    app.running.shutdown().await;
    let _ = tokio::time::timeout(
        Duration::from_secs(10),
        eportal_rabbitmq::RabbitQueue::delete_namespace(&amqp, &namespace),
    )
    .await;
    drop(pg);
}
