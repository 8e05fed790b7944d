//! RabbitMQ going away does not stop lecturers: with the broker stopped, uploads are still
//! accepted (202) because the portal only writes the sheet and its job into PostgreSQL's
//! outbox; the jobs wait there, and once the broker is back every one is delivered and
//! processed exactly once.
//!
//! The test stops a broker, so it runs a private RabbitMQ node (own port and data directory,
//! scripts/rabbitmq-private) and never touches the shared one. A portal and a worker run as
//! real processes against it, its own PostgreSQL database and its own Redis prefix.

mod support;

use eportal_ports::Sheets;
use reqwest::StatusCode;
use std::collections::HashMap;
use std::time::Duration;
use support::broker::PrivateBroker;
use support::client::Portal;
use support::semester::{self, Plan, PASSWORD};
use support::{password_hash, verify, Deployment};

async fn upload_retrying(
    portal: &Portal,
    plan: &Plan,
    tokens: &HashMap<String, String>,
    range: std::ops::Range<usize>,
) -> Vec<i64> {
    let mut ids = Vec::new();
    for s in &plan.sheets[range] {
        let lecturer = &plan.offerings[s.offering].lecturer;
        ids.push(
            portal
                .upload(&tokens[lecturer], &s.label, &s.query(plan), &s.csv)
                .await
                .0,
        );
    }
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_made_while_rabbitmq_is_down_are_processed_once_it_is_back() {
    let broker = PrivateBroker::start();
    let mut d = Deployment::new("broker", &broker.url()).await;
    let plan = semester::plan(90);
    let store = d.iso.store().await;
    semester::seed(&store, &plan, &password_hash().await).await;
    d.start(1, 1).await;
    let portal = d.entry();
    let mut tokens = HashMap::new();
    for o in &plan.offerings {
        if !tokens.contains_key(&o.lecturer) {
            tokens.insert(
                o.lecturer.clone(),
                portal.login(&o.lecturer, PASSWORD).await,
            );
        }
    }

    // With the broker up, the pipeline runs end to end.
    let mut ids = upload_retrying(&portal, &plan, &tokens, 0..5).await;
    verify::wait_final(&store, &ids, Duration::from_secs(60)).await;

    broker.stop();
    // Accepted at once, with no retry: the upload never waits for the broker.
    let down = 5..12;
    for s in &plan.sheets[down.clone()] {
        let lecturer = &plan.offerings[s.offering].lecturer;
        let (status, body) = portal
            .upload_once(&tokens[lecturer], &s.query(&plan), &s.csv)
            .await;
        assert_eq!(
            status,
            StatusCode::ACCEPTED,
            "{} while RabbitMQ is down: {body}",
            s.label
        );
        let v: serde_json::Value = serde_json::from_str(&body).expect("JSON");
        ids.push(v["id"].as_i64().expect("a sheet id"));
    }
    // Their jobs cannot have reached a worker: they wait in the outbox.
    tokio::time::sleep(Duration::from_secs(2)).await;
    for &id in &ids[down.clone()] {
        let s = store
            .sheet(id)
            .await
            .expect("PostgreSQL answers")
            .expect("stored");
        assert!(
            !s.sheet.status.is_final(),
            "sheet {id} was processed with no broker: {:?}",
            s.sheet
        );
    }
    d.assert_all_running();

    broker.resume();
    // Nothing else happens until the waiting jobs are through: the relay and the worker
    // must reconnect and deliver them by themselves.
    verify::wait_final(&store, &ids[down.clone()], Duration::from_secs(120)).await;
    // The rest (corrections included); a portal still settling its connection would be
    // ridden out by the client like any other transient refusal.
    let firsts = plan.offerings.len();
    ids.extend(upload_retrying(&portal, &plan, &tokens, down.end..firsts).await);
    ids.extend(upload_retrying(&portal, &plan, &tokens, firsts..plan.sheets.len()).await);

    verify::wait_final(&store, &ids, Duration::from_secs(120)).await;
    verify::assert_consistent(&store, &plan, &ids).await;
    verify::assert_queue_drained(&d.iso, Duration::from_secs(30)).await;
    d.assert_all_running();
}
