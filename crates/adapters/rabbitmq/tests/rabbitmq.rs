//! What the RabbitMQ adapter promises beyond the shared contract: the queues are durable
//! quorum queues, retries and dead letters carry their attempt and reason, unreadable
//! messages are parked, stale acknowledgements are refused, short retries do not wait behind
//! long ones, and bad settings are refused with a clear error. Run against the shared broker.

mod common;

use common::{open, shared_url, unique_ns};
use eportal_core::jobs::{Envelope, Job};
use eportal_ports::{JobQueue, PortError, QueueStats};
use eportal_rabbitmq::RabbitQueue;
use lapin::options::{
    BasicGetOptions, BasicPublishOptions, ConfirmSelectOptions, QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Connection, ConnectionProperties};
use std::time::{Duration, Instant};

const LEASE: Duration = Duration::from_secs(60);

fn job(n: i64) -> Envelope {
    Envelope::new(Job::ProcessSheet { sheet_id: n }, None)
}

async fn receive_within(
    q: &dyn JobQueue,
    lease: Duration,
    within: Duration,
) -> Option<eportal_ports::Delivery> {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if let Some(d) = q.receive(lease).await.expect("receive") {
            return Some(d);
        }
    }
    None
}

async fn raw_channel() -> (Connection, lapin::Channel) {
    let conn = Connection::connect(&shared_url(), ConnectionProperties::default())
        .await
        .expect("RabbitMQ is unreachable; start it with ./scripts/services");
    let ch = conn.create_channel().await.expect("channel");
    (conn, ch)
}

fn header<'a>(props: &'a BasicProperties, name: &str) -> Option<&'a AMQPValue> {
    props.headers().as_ref()?.inner().get(name)
}

fn header_text(props: &BasicProperties, name: &str) -> String {
    match header(props, name) {
        Some(AMQPValue::LongString(s)) => String::from_utf8_lossy(s.as_bytes()).into_owned(),
        other => panic!("header {name} is {other:?}"),
    }
}

/// Redeclaring a queue with other arguments is refused by the broker, which proves what the
/// queue really is.
async fn redeclare_is_refused(queue: &str, durable: bool, queue_type: &str) -> bool {
    let (_conn, ch) = raw_channel().await;
    let mut args = FieldTable::default();
    args.insert(
        "x-queue-type".into(),
        AMQPValue::LongString(queue_type.into()),
    );
    let options = QueueDeclareOptions {
        durable,
        ..QueueDeclareOptions::default()
    };
    let refused = ch.queue_declare(queue, options, args).await.is_err();
    refused
}

#[tokio::test]
async fn every_queue_is_a_durable_quorum_queue() {
    let ns = unique_ns("topology");
    let _q = open(&ns).await;
    for queue in [
        format!("{ns}.jobs"),
        format!("{ns}.jobs.dead"),
        format!("{ns}.jobs.retry.1s"),
        format!("{ns}.jobs.retry.4096s"),
    ] {
        assert!(
            redeclare_is_refused(&queue, true, "classic").await,
            "{queue} accepted a classic redeclaration, so it is not a quorum queue"
        );
        assert!(
            redeclare_is_refused(&queue, false, "quorum").await,
            "{queue} accepted a non-durable redeclaration"
        );
    }
}

#[tokio::test]
async fn a_namespace_taken_by_other_queues_is_refused_as_invalid() {
    let ns = unique_ns("taken");
    let (_conn, ch) = raw_channel().await;
    let jobs = format!("{ns}.jobs");
    ch.queue_declare(&jobs, QueueDeclareOptions::default(), FieldTable::default())
        .await
        .expect("declare a classic queue");
    let result = RabbitQueue::connect(&shared_url(), &ns, 4).await;
    let _ = ch.queue_delete(&jobs, Default::default()).await;
    match result {
        Err(PortError::Invalid(msg)) => assert!(msg.contains("namespace"), "{msg}"),
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[tokio::test]
async fn retried_and_dead_jobs_carry_their_attempt_and_reason() {
    let ns = unique_ns("reasons");
    let q = open(&ns).await;
    q.publish(&job(1)).await.expect("publish");
    let d = receive_within(q.as_ref(), LEASE, Duration::from_secs(5))
        .await
        .expect("delivered");
    q.retry(&d, Duration::ZERO, "database busy")
        .await
        .expect("retry");
    let again = receive_within(q.as_ref(), LEASE, Duration::from_secs(5))
        .await
        .expect("a zero-delay retry comes back at once");
    assert_eq!(again.attempt, 2);
    q.dead_letter(&again, "sheet file is missing")
        .await
        .expect("dead_letter");

    let (_conn, ch) = raw_channel().await;
    let dead = ch
        .basic_get(&format!("{ns}.jobs.dead"), BasicGetOptions { no_ack: true })
        .await
        .expect("basic_get")
        .expect("the dead queue holds the job");
    let props = &dead.delivery.properties;
    assert_eq!(header_text(props, "x-error"), "sheet file is missing");
    assert_eq!(header(props, "x-attempt"), Some(&AMQPValue::LongLongInt(2)));
    assert_eq!(props.delivery_mode(), &Some(2), "dead jobs are persistent");
    let body = std::str::from_utf8(&dead.delivery.data).unwrap();
    assert_eq!(Envelope::from_json(body).unwrap(), job(1));
}

#[tokio::test]
async fn an_unreadable_message_is_parked_with_the_reason_and_the_next_job_served() {
    let ns = unique_ns("garbage");
    let q = open(&ns).await;
    let (_conn, ch) = raw_channel().await;
    // The garbage travels on another connection than the adapter's publish: wait for the
    // broker's confirm so it is queued before job 2, and so served (and parked) first.
    ch.confirm_select(ConfirmSelectOptions::default())
        .await
        .expect("confirm mode");
    ch.basic_publish(
        "",
        &format!("{ns}.jobs"),
        BasicPublishOptions::default(),
        b"{not json",
        BasicProperties::default(),
    )
    .await
    .expect("publish garbage")
    .await
    .expect("the broker confirms the garbage");
    q.publish(&job(2)).await.expect("publish");
    let d = receive_within(q.as_ref(), LEASE, Duration::from_secs(5))
        .await
        .expect("delivered");
    assert_eq!(d.envelope, job(2));
    q.ack(&d).await.expect("ack");
    let parked = ch
        .basic_get(&format!("{ns}.jobs.dead"), BasicGetOptions { no_ack: true })
        .await
        .expect("basic_get")
        .expect("the unreadable message is in the dead queue");
    assert_eq!(parked.delivery.data, b"{not json");
    let reason = header_text(&parked.delivery.properties, "x-error");
    assert!(reason.contains("unreadable job"), "{reason}");
}

#[tokio::test]
async fn ack_after_the_lease_ran_out_is_refused_and_the_job_comes_back() {
    let q = open(&unique_ns("lease")).await;
    q.publish(&job(3)).await.expect("publish");
    let first = receive_within(
        q.as_ref(),
        Duration::from_millis(300),
        Duration::from_secs(5),
    )
    .await
    .expect("delivered");
    let second = receive_within(q.as_ref(), LEASE, Duration::from_secs(5))
        .await
        .expect("the job comes back once its lease runs out");
    assert_eq!(second.envelope, job(3));
    assert_eq!(second.attempt, 2);
    assert_ne!(first.tag, second.tag);
    match q.ack(&first).await {
        Err(PortError::Conflict(msg)) => assert!(msg.contains("no longer held"), "{msg}"),
        other => panic!("ack of an expired lease must be refused, got {other:?}"),
    }
    q.ack(&second).await.expect("ack of the live delivery");
    assert_eq!(q.stats().await.expect("stats"), QueueStats::default());
}

#[tokio::test]
async fn a_handle_that_only_publishes_takes_no_jobs() {
    let ns = unique_ns("relay");
    let relay = open(&ns).await;
    let worker = open(&ns).await;
    for n in 1..=3 {
        relay.publish(&job(n)).await.expect("publish");
    }
    for n in 1..=3 {
        let d = receive_within(worker.as_ref(), LEASE, Duration::from_secs(5))
            .await
            .unwrap_or_else(|| panic!("job {n} stayed with the publishing handle"));
        assert_eq!(d.envelope, job(n));
        worker.ack(&d).await.expect("ack");
    }
}

#[tokio::test]
async fn dropping_a_handle_returns_its_jobs_at_once() {
    let ns = unique_ns("drop");
    let first = open(&ns).await;
    let second = open(&ns).await;
    first.publish(&job(8)).await.expect("publish");
    let d = receive_within(first.as_ref(), LEASE, Duration::from_secs(5))
        .await
        .expect("delivered");
    assert!(
        receive_within(second.as_ref(), LEASE, Duration::from_millis(500))
            .await
            .is_none(),
        "a held job must not be handed to another handle"
    );
    drop(first); // its lease (60 s) is far off: only closing the connection can return it
    let t = Instant::now();
    let again = receive_within(second.as_ref(), LEASE, Duration::from_secs(5))
        .await
        .expect("the dropped handle's job comes back");
    assert!(t.elapsed() < Duration::from_secs(5));
    assert_eq!((again.envelope.clone(), again.attempt), (d.envelope, 2));
    second.ack(&again).await.expect("ack");
}

#[tokio::test]
async fn a_short_retry_does_not_wait_behind_a_long_one() {
    let q = open(&unique_ns("buckets")).await;
    q.publish(&job(1)).await.expect("publish");
    q.publish(&job(2)).await.expect("publish");
    let long = receive_within(q.as_ref(), LEASE, Duration::from_secs(5))
        .await
        .expect("job 1");
    let short = receive_within(q.as_ref(), LEASE, Duration::from_secs(5))
        .await
        .expect("job 2");
    let t0 = Instant::now();
    q.retry(&long, Duration::from_secs(600), "later")
        .await
        .expect("retry long");
    q.retry(&short, Duration::from_millis(500), "soon")
        .await
        .expect("retry short");
    let back = receive_within(q.as_ref(), LEASE, Duration::from_secs(10))
        .await
        .expect("the short retry comes back while the long one waits");
    assert_eq!(back.envelope, job(2));
    assert!(
        t0.elapsed() < Duration::from_secs(5),
        "took {:?}",
        t0.elapsed()
    );
    q.ack(&back).await.expect("ack");
    let s = q.stats().await.expect("stats");
    assert_eq!((s.ready, s.delayed), (0, 1));
}

#[tokio::test]
async fn bad_settings_are_refused_before_connecting() {
    let url = shared_url();
    let cases = [
        (url.as_str(), "ok", 0u16, "prefetch"),
        ("http://127.0.0.1:5672", "ok", 4, "AMQP URL"),
        (url.as_str(), "has space", 4, "letters, digits"),
        (url.as_str(), "", 4, "empty"),
    ];
    for (url, ns, prefetch, needle) in cases {
        match RabbitQueue::connect(url, ns, prefetch).await {
            Err(PortError::Invalid(msg)) => assert!(msg.contains(needle), "{msg}"),
            other => panic!("{url} {ns:?} {prefetch}: expected Invalid, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn an_unreachable_broker_is_unavailable_at_once() {
    // A port just released by the OS: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let t = Instant::now();
    let url = format!("amqp://guest:guest@127.0.0.1:{port}/%2f");
    match RabbitQueue::connect(&url, &unique_ns("nobody"), 4).await {
        Err(PortError::Unavailable {
            engine: "rabbitmq", ..
        }) => {}
        other => panic!("expected Unavailable from rabbitmq, got {other:?}"),
    }
    assert!(
        t.elapsed() < Duration::from_secs(2),
        "took {:?}",
        t.elapsed()
    );
}

/// The backstop under the worker's own delivery limit: a job handed back unsettled more than
/// [`eportal_rabbitmq::DELIVERY_LIMIT`] times (its holders kept dying or overrunning their
/// leases) is moved to the dead-letter queue by the broker itself, and each delivery on the
/// way carries the count the worker would act on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_broker_dead_letters_a_job_returned_more_than_the_delivery_limit() {
    let q = open(&unique_ns("limit")).await;
    q.publish(&job(1)).await.expect("publish");
    let mut attempts = Vec::new();
    // Each delivery is left unsettled; its 100 ms lease runs out and the handle gives it back.
    while let Some(d) = receive_within(
        q.as_ref(),
        Duration::from_millis(100),
        Duration::from_secs(5),
    )
    .await
    {
        attempts.push(d.attempt);
        assert!(
            attempts.len() <= 40,
            "delivered {} times: {attempts:?}",
            attempts.len()
        );
    }
    let limit = eportal_rabbitmq::DELIVERY_LIMIT as u32;
    assert_eq!(
        attempts,
        (1..=limit + 1).collect::<Vec<u32>>(),
        "delivered once, then again after each of {limit} returns, each counted"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let s = q.stats().await.expect("stats");
        if s == (QueueStats {
            dead: 1,
            ..QueueStats::default()
        }) {
            break;
        }
        assert!(Instant::now() < deadline, "stats stayed {s:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
