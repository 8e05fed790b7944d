//! The broker goes away and comes back: calls fail fast while it is gone, the handle
//! reconnects on its own, and the durable jobs published before the stop are still there.
//! Runs a private RabbitMQ node (scripts/rabbitmq-private); the shared one is never stopped.

mod common;

use common::{unique_ns, PrivateBroker, PREFETCH};
use eportal_core::jobs::{Envelope, Job};
use eportal_ports::{JobQueue, PortError};
use eportal_rabbitmq::RabbitQueue;
use std::time::{Duration, Instant};

const LEASE: Duration = Duration::from_secs(60);
/// What a call may take to fail while the broker is down.
const FAIL_FAST: Duration = Duration::from_millis(500);

fn job(n: i64) -> Envelope {
    Envelope::new(Job::ProcessSheet { sheet_id: n }, None)
}

fn assert_unavailable<T: std::fmt::Debug>(what: &str, result: Result<T, PortError>) {
    match result {
        Err(PortError::Unavailable {
            engine: "rabbitmq", ..
        }) => {}
        other => panic!("{what} must fail as Unavailable from rabbitmq, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn durable_jobs_survive_a_broker_restart_and_the_handle_reconnects() {
    let broker = tokio::task::spawn_blocking(PrivateBroker::start)
        .await
        .unwrap();
    let q = RabbitQueue::connect(&broker.url(), &unique_ns("restart"), PREFETCH)
        .await
        .expect("connect to the private RabbitMQ node");
    for n in 1..=3 {
        q.publish(&job(n)).await.expect("publish");
    }
    // Job 1 is taken but not acknowledged when the broker stops: it must come back too.
    let held = q.receive(LEASE).await.expect("receive").expect("job 1");
    assert_eq!(held.envelope, job(1));

    let broker = tokio::task::spawn_blocking(move || {
        broker.run("stop");
        broker
    })
    .await
    .unwrap();

    // The handle notices the closed connection on its own; give it a moment to.
    let deadline = Instant::now() + Duration::from_secs(5);
    while q.stats().await.is_ok() {
        assert!(
            Instant::now() < deadline,
            "stats still answered 5 s after the broker stopped"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let t = Instant::now();
    assert_unavailable("publish", q.publish(&job(4)).await);
    assert_unavailable("receive", q.receive(LEASE).await);
    assert_unavailable("stats", q.stats().await);
    match q.ack(&held).await {
        Err(PortError::Unavailable { .. } | PortError::Conflict(_)) => {}
        other => panic!("ack of a delivery from the lost connection gave {other:?}"),
    }
    assert!(
        t.elapsed() < FAIL_FAST * 4,
        "four failing calls took {:?}",
        t.elapsed()
    );

    let broker = tokio::task::spawn_blocking(move || {
        broker.run("start");
        broker
    })
    .await
    .unwrap();

    // Reconnection backs off to at most 10 s between attempts.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut got = Vec::new();
    while got.len() < 3 {
        assert!(
            Instant::now() < deadline,
            "after the restart only {got:?} of jobs 1-3 came back within 30 s"
        );
        match q.receive(LEASE).await {
            Ok(Some(d)) => {
                let Job::ProcessSheet { sheet_id } = d.envelope.job else {
                    panic!("only sheet jobs are published here")
                };
                if sheet_id == 1 {
                    assert!(d.attempt >= 2, "job 1 was delivered before the stop: {d:?}");
                }
                got.push(sheet_id);
                q.ack(&d).await.expect("ack after the reconnection");
            }
            Ok(None) => {}
            Err(PortError::Unavailable { .. }) => {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            Err(e) => panic!("unexpected error while reconnecting: {e}"),
        }
    }
    got.sort();
    assert_eq!(got, vec![1, 2, 3]);
    match q.ack(&held).await {
        Err(PortError::Conflict(msg)) => assert!(msg.contains("no longer held"), "{msg}"),
        other => panic!("ack of a delivery from before the restart gave {other:?}"),
    }
    q.publish(&job(5))
        .await
        .expect("publish after the reconnection");
    let s = q.stats().await.expect("stats");
    assert_eq!((s.ready, s.in_flight), (1, 0));
    drop(q);
    drop(broker);
}
