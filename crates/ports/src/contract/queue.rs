//! Contract suite for the queue port: every [`crate::JobQueue`] adapter must pass it.
//!
//! ```ignore
//! async fn open(ns: &str) -> std::sync::Arc<dyn eportal_ports::JobQueue> { /* handle on queue `ns` */ }
//! eportal_ports::queue_contract!(open);
//! ```
//!
//! Each case names its own queue namespace; opening the same namespace twice must give two
//! independent handles on one queue, as two processes would have. Waits are bounded polls,
//! never fixed long sleeps, so a slow engine fails a case with a message instead of hanging.

use crate::{Delivery, JobQueue, QueueStats};
use eportal_core::jobs::{Envelope, Job};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How a case opens a handle on a queue namespace (the macro wraps the adapter's `open`).
pub type Open =
    dyn Fn(String) -> Pin<Box<dyn Future<Output = Arc<dyn JobQueue>> + Send>> + Send + Sync;

/// How long any case waits for something that should happen soon.
const PATIENCE: Duration = Duration::from_secs(10);
const LONG_LEASE: Duration = Duration::from_secs(60);

/// A namespace no other case (or earlier run) uses.
pub fn unique_ns(case: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "contract.{case}.{}.{nanos}.{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

fn job(n: i64) -> Envelope {
    Envelope::new(Job::ProcessSheet { sheet_id: n }, Some(format!("req-{n}")))
}

fn sheet_of(d: &Delivery) -> i64 {
    match d.envelope.job {
        Job::ProcessSheet { sheet_id } => sheet_id,
        ref other => panic!("only sheet jobs were sent, got {other:?}"),
    }
}

/// Polls `receive` until a delivery arrives or `within` has passed.
pub async fn receive_within(
    q: &dyn JobQueue,
    lease: Duration,
    within: Duration,
) -> Option<Delivery> {
    let deadline = Instant::now() + within;
    loop {
        if let Some(d) = q.receive(lease).await.expect("receive") {
            return Some(d);
        }
        if Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Polls `stats` until it equals `want`, failing with the last value seen.
pub async fn stats_become(q: &dyn JobQueue, want: QueueStats, what: &str) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let got = q.stats().await.expect("stats");
        if got == want {
            return;
        }
        if Instant::now() >= deadline {
            panic!("{what}: stats stayed {got:?}, expected {want:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn stats(ready: u64, in_flight: u64, delayed: u64, dead: u64) -> QueueStats {
    QueueStats {
        ready,
        in_flight,
        delayed,
        dead,
    }
}

pub async fn publish_receive_ack_in_fifo_order(open: &Open) {
    let q = open(unique_ns("fifo")).await;
    for n in 1..=5 {
        q.publish(&job(n)).await.expect("publish");
    }
    for n in 1..=5 {
        let d = receive_within(q.as_ref(), LONG_LEASE, PATIENCE)
            .await
            .unwrap_or_else(|| panic!("job {n} was not delivered"));
        assert_eq!(d.envelope, job(n), "one consumer receives in publish order");
        assert_eq!(d.attempt, 1);
        q.ack(&d).await.expect("ack");
    }
    assert!(
        q.receive(LONG_LEASE).await.expect("receive").is_none(),
        "acked jobs are gone"
    );
    stats_become(q.as_ref(), stats(0, 0, 0, 0), "after acking everything").await;
}

pub async fn receive_on_an_empty_queue_returns_none_promptly(open: &Open) {
    let q = open(unique_ns("empty")).await;
    let t = Instant::now();
    assert!(q.receive(LONG_LEASE).await.expect("receive").is_none());
    assert!(
        t.elapsed() < Duration::from_secs(2),
        "receive waited {:?}",
        t.elapsed()
    );
    assert_eq!(q.stats().await.expect("stats"), QueueStats::default());
}

pub async fn competing_handles_each_get_a_job_once(open: &Open) {
    let ns = unique_ns("compete");
    let (a, b) = (open(ns.clone()).await, open(ns).await);
    const N: i64 = 40;
    for n in 1..=N {
        a.publish(&job(n)).await.expect("publish");
    }
    let worker = |q: Arc<dyn JobQueue>| {
        tokio::spawn(async move {
            let mut got = Vec::new();
            let deadline = Instant::now() + PATIENCE;
            let mut idle = 0;
            while Instant::now() < deadline && idle < 10 {
                match q.receive(LONG_LEASE).await.expect("receive") {
                    Some(d) => {
                        idle = 0;
                        got.push(sheet_of(&d));
                        q.ack(&d).await.expect("ack");
                    }
                    None => {
                        idle += 1;
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }
            got
        })
    };
    let (ta, tb) = (worker(a.clone()), worker(b));
    let (ga, gb) = (ta.await.expect("worker a"), tb.await.expect("worker b"));
    let mut all: Vec<i64> = ga.iter().chain(gb.iter()).copied().collect();
    all.sort();
    assert_eq!(
        all,
        (1..=N).collect::<Vec<_>>(),
        "every job delivered exactly once"
    );
    stats_become(a.as_ref(), stats(0, 0, 0, 0), "after both handles acked").await;
}

pub async fn retry_waits_for_its_delay(open: &Open) {
    let q = open(unique_ns("retry")).await;
    q.publish(&job(7)).await.expect("publish");
    let d = receive_within(q.as_ref(), LONG_LEASE, PATIENCE)
        .await
        .expect("delivered");
    let delay = Duration::from_millis(1500);
    let t0 = Instant::now();
    q.retry(&d, delay, "database busy").await.expect("retry");
    stats_become(q.as_ref(), stats(0, 0, 1, 0), "while the retry waits").await;
    let early = receive_within(
        q.as_ref(),
        LONG_LEASE,
        delay.saturating_sub(t0.elapsed() + Duration::from_millis(300)),
    )
    .await;
    assert!(
        early.is_none(),
        "delivered {:?} after {:?}, before its delay",
        early,
        t0.elapsed()
    );
    let again = receive_within(q.as_ref(), LONG_LEASE, PATIENCE)
        .await
        .expect("the retried job comes back after its delay");
    let waited = t0.elapsed();
    assert!(
        waited + Duration::from_millis(50) >= delay,
        "came back after {waited:?}"
    );
    assert_eq!(again.envelope, job(7));
    assert_eq!(again.attempt, 2, "a retry counts as an attempt");
    q.ack(&again).await.expect("ack");
    stats_become(q.as_ref(), stats(0, 0, 0, 0), "after the ack").await;
}

pub async fn dead_letter_stops_delivery_and_is_counted(open: &Open) {
    let q = open(unique_ns("dead")).await;
    q.publish(&job(1)).await.expect("publish");
    q.publish(&job(2)).await.expect("publish");
    let d = receive_within(q.as_ref(), LONG_LEASE, PATIENCE)
        .await
        .expect("delivered");
    assert_eq!(sheet_of(&d), 1);
    q.dead_letter(&d, "sheet 1 refers to a missing file")
        .await
        .expect("dead_letter");
    let next = receive_within(q.as_ref(), LONG_LEASE, PATIENCE)
        .await
        .expect("job 2");
    assert_eq!(sheet_of(&next), 2, "the dead job is not delivered again");
    q.ack(&next).await.expect("ack");
    assert!(
        receive_within(q.as_ref(), LONG_LEASE, Duration::from_millis(500))
            .await
            .is_none()
    );
    stats_become(q.as_ref(), stats(0, 0, 0, 1), "one dead job").await;
}

pub async fn lost_lease_is_redelivered_to_another_handle(open: &Open) {
    let ns = unique_ns("lease");
    let a = open(ns.clone()).await;
    a.publish(&job(9)).await.expect("publish");
    let d = receive_within(a.as_ref(), Duration::from_millis(500), PATIENCE)
        .await
        .expect("delivered");
    assert_eq!(d.attempt, 1);
    drop(a); // the worker died without acking
    let b = open(ns).await;
    let again = receive_within(b.as_ref(), LONG_LEASE, PATIENCE)
        .await
        .expect("a job whose worker died comes back within 10 s");
    assert_eq!(again.envelope, job(9));
    assert_eq!(
        again.attempt, 2,
        "a redelivery after a lost lease counts as an attempt"
    );
    b.ack(&again).await.expect("ack");
    stats_become(b.as_ref(), stats(0, 0, 0, 0), "after the ack").await;
}

/// Deliveries are counted, not completed attempts: a job whose lease runs out unsettled (its
/// worker hung), that is retried, or whose handle vanishes (its process died) comes back with
/// a count one higher each time. The worker's poison-job limit rests on this.
pub async fn every_delivery_is_counted_even_when_never_settled(open: &Open) {
    let ns = unique_ns("count");
    let a = open(ns.clone()).await;
    a.publish(&job(3)).await.expect("publish");
    let short = Duration::from_millis(300);
    for want in 1..=3 {
        let d = receive_within(a.as_ref(), short, PATIENCE)
            .await
            .unwrap_or_else(|| panic!("delivery {want} of a job nobody settles"));
        assert_eq!(d.envelope, job(3));
        assert_eq!(
            d.attempt, want,
            "delivery {want}: a lease that ran out unsettled counts as a delivery"
        );
        // Not settled: the lease runs out and the queue hands the job out again.
    }
    let d4 = receive_within(a.as_ref(), LONG_LEASE, PATIENCE)
        .await
        .expect("a fourth delivery");
    assert_eq!(d4.attempt, 4);
    a.retry(&d4, Duration::from_millis(100), "database busy")
        .await
        .expect("retry");
    // A short lease, as in `lost_lease_is_redelivered_to_another_handle`: an embedded queue
    // only knows its holder died when the lease runs out.
    let d5 = receive_within(a.as_ref(), Duration::from_millis(500), PATIENCE)
        .await
        .expect("the retried job comes back");
    assert_eq!(
        d5.attempt, 5,
        "a retry after three lost leases is delivery 5"
    );
    drop(a); // the process holding delivery 5 dies
    let b = open(ns).await;
    let d6 = receive_within(b.as_ref(), LONG_LEASE, PATIENCE)
        .await
        .expect("a job whose holder died comes back");
    assert_eq!(
        d6.attempt, 6,
        "a job whose holder vanished counts that delivery too"
    );
    b.ack(&d6).await.expect("ack");
    stats_become(b.as_ref(), stats(0, 0, 0, 0), "after the ack").await;
}

pub async fn stats_reflect_ready_in_flight_and_delayed(open: &Open) {
    let q = open(unique_ns("stats")).await;
    for n in 1..=3 {
        q.publish(&job(n)).await.expect("publish");
    }
    stats_become(q.as_ref(), stats(3, 0, 0, 0), "three published").await;
    let d1 = receive_within(q.as_ref(), LONG_LEASE, PATIENCE)
        .await
        .expect("job 1");
    let d2 = receive_within(q.as_ref(), LONG_LEASE, PATIENCE)
        .await
        .expect("job 2");
    stats_become(q.as_ref(), stats(1, 2, 0, 0), "two taken").await;
    q.retry(&d1, Duration::from_secs(120), "later")
        .await
        .expect("retry");
    stats_become(q.as_ref(), stats(1, 1, 1, 0), "one waiting to retry").await;
    q.dead_letter(&d2, "never").await.expect("dead_letter");
    stats_become(q.as_ref(), stats(1, 0, 1, 1), "one dead").await;
    let d3 = receive_within(q.as_ref(), LONG_LEASE, PATIENCE)
        .await
        .expect("job 3");
    q.ack(&d3).await.expect("ack");
    stats_become(
        q.as_ref(),
        stats(0, 0, 1, 1),
        "only the delayed and the dead remain",
    )
    .await;
}

/// One `#[tokio::test]` per queue case. `$open` is an `async fn(&str) -> Arc<dyn JobQueue>`
/// returning a new handle on the queue namespace it is given.
#[macro_export]
macro_rules! queue_contract {
    ($open:path) => {
        $crate::queue_contract!(@cases $open;
            publish_receive_ack_in_fifo_order,
            receive_on_an_empty_queue_returns_none_promptly,
            competing_handles_each_get_a_job_once,
            retry_waits_for_its_delay,
            dead_letter_stops_delivery_and_is_counted,
            lost_lease_is_redelivered_to_another_handle,
            every_delivery_is_counted_even_when_never_settled,
            stats_reflect_ready_in_flight_and_delayed,
        );
    };
    (@cases $open:path; $($case:ident),* $(,)?) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let open = |ns: ::std::string::String| -> ::std::pin::Pin<::std::boxed::Box<
                    dyn ::std::future::Future<Output = ::std::sync::Arc<dyn $crate::JobQueue>>
                        + ::std::marker::Send,
                >> { ::std::boxed::Box::pin(async move { $open(&ns).await }) };
                $crate::contract::queue::$case(&open).await;
            }
        )*
    };
}
