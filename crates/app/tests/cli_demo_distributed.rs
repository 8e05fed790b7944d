//! `eportal demo` on the distributed engines (PostgreSQL, RabbitMQ, Redis), as
//! `scripts/bench-demo` runs it: the same university goes through the same pipeline into a
//! fresh database of the test's own, and a database that already holds a university is
//! never built over.

mod cli_support;
#[allow(dead_code)] // the cluster tests' helpers; this file uses the isolation only
#[path = "support/engines.rs"]
mod engines;

use cli_support::{accounts, eportal, login, outcome, run, Child};
use eportal_core::MatricNo;
use eportal_ports::{Directory, Results};
use std::time::Duration;

const PASSWORD: &str = "distributed-demo";

#[tokio::test(flavor = "multi_thread")]
async fn the_demo_runs_on_postgres_rabbitmq_and_redis() {
    let iso = engines::Isolation::create("demo", &engines::amqp_url()).await;
    let tmp = tempfile::tempdir().unwrap();
    let mut cmd = eportal(tmp.path());
    cmd.envs(iso.env())
        .args([
            "demo",
            "--students",
            "60",
            "--listen",
            "127.0.0.1:0",
            "--password",
            PASSWORD,
        ])
        .arg("--data-dir")
        .arg(tmp.path());
    let mut child = Child::spawn(cmd, tmp.path().join("demo.log"));
    let base = child.wait_listening(Duration::from_secs(240));
    let students = accounts(&child.seen, "student");
    assert!(!students.is_empty(), "{:?}", child.seen);

    let http = reqwest::Client::new();
    let matric = &students[0];
    let token = login(&http, &base, matric, PASSWORD).await;
    let res = http
        .get(format!(
            "{base}/api/v1/students/{}/results",
            matric.replace('/', "%2F")
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    assert!(!body["semesters"].as_array().unwrap().is_empty(), "{body}");
    assert_eq!(child.stop(Duration::from_secs(30)), Some(0));

    // The university is in PostgreSQL, not in the data directory.
    let store = iso.store().await;
    assert_eq!(store.count_students().await.unwrap(), 60);
    let m = MatricNo::parse(matric).unwrap();
    assert!(!store.student_records(&m).await.unwrap().is_empty());
    assert!(!tmp.path().join("eportal.sqlite").exists());

    // A second demo into the same database is refused, and --reset cannot clear it.
    let other = tempfile::tempdir().unwrap();
    let demo = |extra: &[&str]| {
        let mut c = eportal(other.path());
        c.envs(iso.env())
            .args(["demo", "--students", "60", "--listen", "127.0.0.1:0"])
            .args(extra)
            .arg("--data-dir")
            .arg(other.path());
        c
    };
    let (code, _, err) = outcome(&run(&mut demo(&[])));
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("already holds a university"), "{err}");
    let (code, _, err) = outcome(&run(&mut demo(&["--reset"])));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("EPORTAL_DATABASE_URL"), "{err}");
    assert_eq!(
        store.count_students().await.unwrap(),
        60,
        "nothing was touched"
    );
}
