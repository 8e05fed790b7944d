//! A PostgreSQL server of the test's own, for tests that stop the store: `initdb` and `pg_ctl`
//! in a temporary directory, on a free port, listening on loopback only. The machine's shared
//! server is never touched. Dropping it stops the server and deletes its files, whatever the
//! test's outcome. Running as root, the server runs as the `postgres` account (PostgreSQL
//! refuses to run as root).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Where Debian puts the server programs; `EPORTAL_TEST_POSTGRES_BIN` overrides it.
const BIN: &str = "/usr/lib/postgresql/15/bin";

pub struct PrivatePostgres {
    pub port: u16,
    bin: PathBuf,
    dir: tempfile::TempDir,
    as_postgres: bool,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

impl PrivatePostgres {
    /// Creates the cluster and starts the server; panics naming PostgreSQL and
    /// `./scripts/services` if its programs are missing or it does not start.
    pub fn start() -> PrivatePostgres {
        let bin = PathBuf::from(std::env::var("EPORTAL_TEST_POSTGRES_BIN").unwrap_or(BIN.into()));
        assert!(
            bin.join("initdb").exists(),
            "PostgreSQL's server programs are not in {} (initdb, pg_ctl); install PostgreSQL with ./scripts/services or set EPORTAL_TEST_POSTGRES_BIN",
            bin.display()
        );
        let dir = tempfile::tempdir().expect("a temporary directory for PostgreSQL");
        let as_postgres = is_root();
        if as_postgres {
            let out = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .output()
                .expect("chown runs");
            assert!(
                out.status.success(),
                "cannot give the PostgreSQL directory to the postgres account: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let pg = PrivatePostgres {
            port: free_port(),
            bin,
            dir,
            as_postgres,
        };
        let data = pg.data();
        let out = pg.run(
            "initdb",
            &[
                "-D",
                &data,
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        );
        assert!(
            out.status.success(),
            "PostgreSQL initdb failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        pg.resume();
        pg
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn run(&self, program: &str, args: &[&str]) -> Output {
        let program = self.bin.join(program);
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&program);
            c
        } else {
            Command::new(&program)
        };
        cmd.args(args).output().unwrap_or_else(|e| {
            panic!(
                "cannot run {} ({e}); install PostgreSQL with ./scripts/services",
                program.display()
            )
        })
    }

    /// The maintenance database, as the portal's `EPORTAL_DATABASE_URL`.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Starts the server (again) on the same port and data, and waits until it accepts.
    pub fn resume(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("server.log").display().to_string();
        let out = self.run(
            "pg_ctl",
            &[
                "-D",
                &self.data(),
                "-o",
                &options,
                "-l",
                &log,
                "-w",
                "-t",
                "30",
                "start",
            ],
        );
        assert!(
            out.status.success(),
            "the private PostgreSQL did not start on port {}: {}{}\n{}",
            self.port,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(Path::new(&log)).unwrap_or_default()
        );
    }

    /// Stops the server at once, closing every connection (the store goes down).
    pub fn stop(&self) {
        let out = self.run(
            "pg_ctl",
            &["-D", &self.data(), "-m", "fast", "-w", "-t", "30", "stop"],
        );
        assert!(
            out.status.success(),
            "the private PostgreSQL did not stop: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let _ = self.run(
            "pg_ctl",
            &["-D", &self.data(), "-m", "immediate", "-w", "stop"],
        );
    }
}

/// The shared RabbitMQ broker (PostgreSQL deployments take their queue from RabbitMQ).
fn amqp_url() -> String {
    std::env::var("EPORTAL_TEST_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
}

/// A portal (all roles, in-process cache) on this server and a RabbitMQ namespace of the
/// test's own on the shared broker, seeded like [`super::spawn_app`]'s. Call
/// [`forget_namespace`] at the end; a namespace left by a failed run is swept by a later one.
pub async fn spawn_app_on(
    pg: &PrivatePostgres,
    adjust: impl FnOnce(&mut eportal::Config),
) -> (super::TestApp, String) {
    let amqp = amqp_url();
    let namespace = format!("eportal-test.{}.private-pg.{}", std::process::id(), pg.port);
    eportal_rabbitmq::RabbitQueue::connect(&amqp, &namespace, 1)
        .await
        .unwrap_or_else(|e| {
            panic!("RabbitMQ is not reachable ({e}); start it with ./scripts/services")
        });
    let url = pg.url();
    let ns = namespace.clone();
    let app = super::spawn_app_with(move |c| {
        c.database_url = url;
        c.queue_url = amqp;
        c.queue_namespace = ns;
        adjust(c);
    })
    .await;
    (app, namespace)
}

/// Deletes the test's queues from the shared broker.
pub async fn forget_namespace(namespace: &str) {
    let _ = eportal_rabbitmq::RabbitQueue::delete_namespace(&amqp_url(), namespace).await;
}
