//! A RabbitMQ node of the test's own — own node name, AMQP port, distribution port and data
//! directory — started and stopped through `scripts/rabbitmq-private`, for tests that stop
//! the broker. The shared broker (port 5672) and every test using it are never disturbed.
//! The node is stopped when the value is dropped.

use std::path::{Path, PathBuf};
use std::process::Command;

pub struct PrivateBroker {
    pub dir: tempfile::TempDir,
    pub port: u16,
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/rabbitmq-private")
}

impl PrivateBroker {
    /// Starts a fresh node and waits until it accepts AMQP connections.
    pub fn start() -> PrivateBroker {
        let dir = tempfile::Builder::new()
            .prefix("eportal-rabbitmq-")
            .tempdir()
            .expect("a directory for the private broker");
        let b = PrivateBroker {
            dir,
            port: free_port_pair(),
        };
        b.run("start");
        b
    }

    pub fn url(&self) -> String {
        format!("amqp://guest:guest@127.0.0.1:{}/%2f", self.port)
    }

    /// Stops the node; its data directory (and every queued message) stays for [`Self::resume`].
    pub fn stop(&self) {
        self.run("stop");
    }

    /// Starts the node again on the same port and data directory.
    pub fn resume(&self) {
        self.run("start");
    }

    fn run(&self, action: &str) {
        let out = Command::new(script())
            .arg(action)
            .arg(self.dir.path())
            .arg(self.port.to_string())
            .output()
            .unwrap_or_else(|e| panic!("cannot run scripts/rabbitmq-private: {e}"));
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

/// An AMQP port whose distribution port (the script uses port + 20000) is free too.
fn free_port_pair() -> u16 {
    let free = |p: u16| std::net::TcpListener::bind(("127.0.0.1", p)).is_ok();
    for _ in 0..200 {
        let port = 20_000 + rand::random::<u16>() % 20_000;
        if free(port) && free(port + 20_000) {
            return port;
        }
    }
    panic!("no free port pair for a private RabbitMQ node");
}
