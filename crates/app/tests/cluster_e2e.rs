//! The distributed deployment survives crashes: HAProxy (configured from deploy/haproxy.cfg)
//! in front of two portals, and two workers, all real `eportal serve` processes on loopback
//! over PostgreSQL, RabbitMQ and Redis, sharing one data directory. A semester's score sheets
//! are uploaded through HAProxy; while they are being processed one worker and one portal
//! are killed with SIGKILL (the worker while it holds a job, which must then be delivered
//! again), the remaining sheets are uploaded through HAProxy regardless, and
//! the two are started again. In the end every accepted row is stored exactly once, no sheet
//! is stuck, and every GPA equals a recomputation from the stored records.
//!
//! The test has its own database, RabbitMQ namespace, Redis prefix and ports, so it may run
//! alongside any other test.

mod support;

use eportal_ports::Sheets;
use eportal_postgres::PgStore;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Students of the test university: sheets of a few hundred rows take long enough to process
/// that a worker can be killed with some in its hands.
const STUDENTS: usize = 800;
use support::client::Portal;
use support::semester::{self, Plan, PASSWORD};
use support::{engines, password_hash, verify, Deployment};

/// A worker's own count of deliveries handed to its loops and not yet settled.
const IN_HAND: &str = "eportal_queue_depth{state=\"in_flight\"}";

/// Uploads `plan.sheets[range]` at once, each retried until accepted; returns their ids.
/// `done` counts the uploads answered so far.
async fn upload(
    lb: &Portal,
    plan: &Plan,
    tokens: &HashMap<String, String>,
    range: std::ops::Range<usize>,
    done: &AtomicUsize,
) -> Vec<i64> {
    let sheets = &plan.sheets[range];
    let queries: Vec<String> = sheets.iter().map(|s| s.query(plan)).collect();
    let uploads = sheets.iter().zip(&queries).map(|(s, query)| async move {
        let lecturer = &plan.offerings[s.offering].lecturer;
        let (id, _created) = lb.upload(&tokens[lecturer], &s.label, query, &s.csv).await;
        done.fetch_add(1, Ordering::SeqCst);
        id
    });
    futures_util::future::join_all(uploads).await
}

/// How many of `ids` are final (processed, superseded, …).
async fn finished(store: &PgStore, ids: &[i64]) -> usize {
    let mut n = 0;
    for &id in ids {
        let s = store
            .sheet(id)
            .await
            .expect("PostgreSQL answers")
            .expect("stored");
        n += usize::from(s.sheet.status.is_final());
    }
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_row_is_lost_or_doubled_when_a_worker_and_a_portal_are_killed_mid_semester() {
    engines::require_haproxy();
    let mut d = Deployment::new("e2e", &engines::amqp_url()).await;
    let plan = semester::plan(STUDENTS);
    let store = d.iso.store().await;
    semester::seed(&store, &plan, &password_hash().await).await;

    d.start(2, 2).await;
    d.start_haproxy().await;
    let lb = d.entry();

    let mut tokens = HashMap::new();
    for o in &plan.offerings {
        if !tokens.contains_key(&o.lecturer) {
            tokens.insert(o.lecturer.clone(), lb.login(&o.lecturer, PASSWORD).await);
        }
    }

    // Half of the first versions while everything runs; worker1 is killed as soon as the
    // workers are seen at work (the first sheet done), with the others in their hands or
    // still waiting.
    let half = plan.offerings.len() / 2;
    let none = AtomicUsize::new(0);
    let mut ids = upload(&lb, &plan, &tokens, 0..half, &none).await;
    // It must hold a job when it dies (a delivery handed to its worker loop, not settled):
    // that is what the kill is meant to interrupt.
    let deadline = Instant::now() + Duration::from_secs(60);
    while finished(&store, &ids).await == 0 || d.worker_metric(0, IN_HAND).await == 0 {
        assert!(
            Instant::now() < deadline,
            "within 60 s of the uploads, no sheet was processed while worker1 held a job"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    d.workers[0].kill9();
    let done = finished(&store, &ids).await;
    eprintln!("killed worker1 with {done} of {half} sheets processed");

    // The other first versions through HAProxy; portal1 is killed while they are in flight
    // (two answered, the rest on their way), so some hit it and must be sent again.
    let firsts = plan.offerings.len();
    let answered = AtomicUsize::new(0);
    let uploads = upload(&lb, &plan, &tokens, half..firsts, &answered);
    let kill_portal = async {
        while answered.load(Ordering::SeqCst) < 2 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        d.portals[0].kill9();
    };
    let (more, ()) = tokio::join!(uploads, kill_portal);
    ids.extend(more);
    // The corrections only once every first version is in, so each is the newer sheet.
    ids.extend(upload(&lb, &plan, &tokens, firsts..plan.sheets.len(), &none).await);

    let http = d.http.clone();
    d.workers[0].start(&http).await;
    d.portals[0].start(&http).await;
    d.assert_all_running();

    // A dead portal's claim on outbox rows lapses after 30 s; then another relay sends them.
    verify::wait_final(&store, &ids, Duration::from_secs(180)).await;
    verify::assert_consistent(&store, &plan, &ids).await;
    verify::assert_queue_drained(&d.iso, Duration::from_secs(30)).await;
    // What worker1 held came back to the queue with RabbitMQ's delivery count raised, and a
    // worker received it again.
    let redelivered = d.workers_metric("eportal_jobs_redelivered_total").await;
    eprintln!("jobs delivered again after the kill: {redelivered}");
    assert!(
        redelivered >= 1,
        "no job was delivered a second time: the kill of worker1 hit no job in hand"
    );

    d.assert_all_running();
    assert_eq!(
        lb.status_of("/readyz").await,
        Ok(reqwest::StatusCode::OK),
        "HAProxy serves the restarted cluster"
    );
}
