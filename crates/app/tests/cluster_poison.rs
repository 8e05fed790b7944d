//! A poison sheet in the distributed deployment (PostgreSQL + RabbitMQ): processing it kills
//! the worker process (an abort, as a parser running out of memory does). The worker is
//! started again after each death, as systemd would; RabbitMQ hands the job back each time
//! with its quorum queue's delivery count raised (`x-delivery-count`), and once it has been
//! delivered `worker.max_deliveries` times the worker sets it aside when it receives it,
//! before it runs again — well before the broker's own `x-delivery-limit` would — so the sheet
//! ends `failed` with the reason, the job waits in `{ns}.jobs.dead`, and the next valid sheet
//! is processed.
//!
//! The death is made deterministic with the debug-only fault hook
//! `EPORTAL_FAULT_ABORT_ON_SHEET` (see `crates/app/src/services/faults.rs`): a real abort of
//! the worker process with the job in hand.

mod support;

use eportal_ports::{JobQueue, Sheets};
use sha2::{Digest, Sha256};
use std::os::unix::process::ExitStatusExt;
use std::time::{Duration, Instant};
use support::semester::{self, PASSWORD};
use support::{engines, password_hash, Deployment};

const MAX_DELIVERIES: u32 = 3;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sheet_that_kills_the_worker_is_dead_lettered_after_the_delivery_limit() {
    let mut d = Deployment::new("poison", &engines::amqp_url()).await;
    let plan = semester::plan(12);
    let store = d.iso.store().await;
    semester::seed(&store, &plan, &password_hash().await).await;
    let poison = &plan.sheets[0];
    let valid = &plan.sheets[1];
    let poison_sha = hex::encode(Sha256::digest(poison.csv.as_bytes()));
    d.extra_env = vec![
        ("EPORTAL_FAULT_ABORT_ON_SHEET".into(), poison_sha),
        ("EPORTAL_WORKER__CONCURRENCY".into(), "1".into()),
        (
            "EPORTAL_WORKER__MAX_DELIVERIES".into(),
            MAX_DELIVERIES.to_string(),
        ),
        (
            "EPORTAL_WORKER__RETRY__MAX_ATTEMPTS".into(),
            MAX_DELIVERIES.to_string(),
        ),
    ];
    d.start(1, 1).await;
    let portal = d.entry();
    let lecturer = |s: &semester::Sheet| plan.offerings[s.offering].lecturer.clone();
    let token = portal.login(&lecturer(poison), PASSWORD).await;
    let (id, _) = portal
        .upload(&token, &poison.label, &poison.query(&plan), &poison.csv)
        .await;

    let mut deaths = 0;
    let deadline = Instant::now() + Duration::from_secs(120);
    let done = loop {
        let worker = &mut d.workers[0];
        if let Some(status) = worker.exited() {
            deaths += 1;
            assert_eq!(
                status.signal(),
                Some(6),
                "death {deaths} of the worker was not the poison sheet's abort ({status})\n{}",
                worker.tail(40)
            );
            assert!(
                deaths <= MAX_DELIVERIES,
                "the poison sheet killed the worker {deaths} times; the limit is {MAX_DELIVERIES}"
            );
            // Not `start`: the job comes back at once, so the worker may die again before it
            // reports ready. The loop sees every death.
            worker.spawn();
            continue;
        }
        let report = store.sheet(id).await.expect("PostgreSQL answers");
        let report = report.expect("the sheet is stored");
        if report.sheet.status.is_final() {
            break report.sheet;
        }
        assert!(
            Instant::now() < deadline,
            "after {deaths} deaths the sheet is still queued after 120 s\n{}",
            d.workers[0].tail(40)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let log = std::fs::read_to_string(&d.workers[0].log).unwrap_or_default();
    assert_eq!(
        log.matches("fault hook: aborting the process on sheet")
            .count(),
        MAX_DELIVERIES as usize,
        "every death was the poison sheet's abort"
    );
    assert_eq!(
        deaths, MAX_DELIVERIES,
        "one death per delivery up to the limit"
    );
    assert_eq!(done.status.as_str(), "failed", "{done:?}");
    assert_eq!(
        done.message.as_deref(),
        Some(
            "processing this sheet stopped the worker 3 times without finishing; it was set \
             aside so that it cannot stop it again. Check the file, or export it again from the \
             spreadsheet and upload the new copy"
        )
    );

    // The restarted worker goes on: the next valid sheet is processed.
    let token = portal.login(&lecturer(valid), PASSWORD).await;
    let (next, _) = portal
        .upload(&token, &valid.label, &valid.query(&plan), &valid.csv)
        .await;
    support::verify::wait_final(&store, &[next], Duration::from_secs(60)).await;
    let report = store.sheet(next).await.unwrap().unwrap();
    assert_eq!(report.sheet.status.as_str(), "processed", "{report:?}");
    assert_eq!(report.sheet.rows_accepted as usize, valid.accepted.len());

    // The poison job waits in the dead-letter queue, nothing else is left.
    let queue = d.iso.queue().await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let s = queue.stats().await.expect("RabbitMQ answers");
        if s.dead == 1 && s.ready + s.delayed == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "queue stats stayed {s:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    d.assert_all_running();
}
