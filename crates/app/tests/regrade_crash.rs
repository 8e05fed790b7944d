//! A regrade with workers killed mid-way, on the embedded queue (SQLite) and on RabbitMQ
//! (PostgreSQL + RabbitMQ + Redis), completes with results equal to grading from scratch.
//!
//! For each deployment: a small faculty (the cluster tests' semester plan) whose score sheets
//! are uploaded through a real portal process, processed by a real worker and published, with
//! a results override already active for 2024/2025 (a stricter 5-point scale). Then the
//! default policy is changed to a 5-point scale with raised bands with
//! `eportal regrade --policy … --no-wait`,
//! and the regrade is run by worker processes that die on the way:
//!
//! 1. a worker with `EPORTAL_FAULT_ABORT_ON_REGRADE=map:3` aborts after grading map task 3
//!    and before storing it (the regrade must still be mapping);
//! 2. a worker with `reduce:5` finishes the maps (task 3 delivered again) and aborts in the
//!    reduce phase (the regrade must be reducing);
//! 3. a plain worker is killed with SIGKILL right after a randomly chosen reduce task (or, if
//!    it gets that far first, aborts before the switch: `commit:0`); the regrade is not done;
//! 4. two fresh workers without any hook finish it.
//!
//! Then, read straight from the store: the regrade is done with every task counted once
//! (records graded = score records, `maps_done` and `reduces_done` = the parts), the new book is
//! active, the scores themselves are the uploaded ones, every record's grade and points are
//! the new book's (checked against bands written out in `support/regrade.rs`, and against the
//! core's grading), every student's semester results equal the core's `regrade::reduce` over
//! their records under the new book, and no job was dead-lettered.
//!
//! A missing engine fails the distributed case with its name and `./scripts/services`; it is
//! never skipped. Each case has its own data directory (and database, queue namespace and
//! cache prefix), so the two run side by side with any other test.
mod support;

use eportal_core::Score;
use eportal_ports::RegradeStatus;
use rand::Rng;
use std::os::unix::process::ExitStatusExt;
use std::time::{Duration, Instant};
use support::regrade::{build_university, by_hand, raised, strict, verify, wait_exit, Site};
use support::semester;

/// Enough students that each of the 16 map and reduce tasks has work (about 3,000 records),
/// few enough that a debug build runs the whole case in well under a minute.
const STUDENTS: usize = 300;
const SIGABRT: i32 = 6;

/// Runs a worker with `EPORTAL_FAULT_ABORT_ON_REGRADE=hook` until the hook aborts it.
async fn abort_on(site: &mut Site, hook: &str) {
    // Spawned, not started: it may reach its task before its readiness is seen.
    let mut w = site.process(
        &format!("abort-{}", hook.replace(':', "")),
        "worker",
        &[("EPORTAL_FAULT_ABORT_ON_REGRADE", hook)],
    );
    w.spawn();
    let status = wait_exit(&mut w, Duration::from_secs(120)).await;
    assert_eq!(
        status.signal(),
        Some(SIGABRT),
        "{} ended ({status}) but not by its fault hook; its log:\n{}",
        w.spec.name,
        w.tail(40)
    );
    let log = std::fs::read_to_string(&w.log).unwrap_or_default();
    assert!(
        log.contains(&format!("aborting the process in regrade task {hook}")),
        "{} aborted, but not in task {hook}; its log:\n{}",
        w.spec.name,
        w.tail(40)
    );
}

/// Runs a plain worker and SIGKILLs it right after a randomly chosen reduce task is stored
/// (or when it aborts before the switch, `commit:0`, if it gets that far first).
async fn kill_at_random(site: &mut Site, id: i64) {
    let before = site.regrade(id).await;
    let left = before.parts.reduce - before.reduces_done;
    let target = before.reduces_done + rand::thread_rng().gen_range(1..=left.max(1));
    let jitter = Duration::from_millis(rand::thread_rng().gen_range(0..=30));
    eprintln!(
        "{}: SIGKILL once {target} of {} reduce tasks are done (+{} ms)",
        site.name,
        before.parts.reduce,
        jitter.as_millis()
    );
    let mut w = site.process(
        "random-kill",
        "worker",
        &[("EPORTAL_FAULT_ABORT_ON_REGRADE", "commit:0")],
    );
    w.spawn();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Some(status) = w.exited() {
            assert_eq!(
                status.signal(),
                Some(SIGABRT),
                "{} ended ({status}) by itself, not by its commit hook; its log:\n{}",
                w.spec.name,
                w.tail(40)
            );
            eprintln!(
                "{}: the worker reached the switch and aborted before it",
                site.name
            );
            return;
        }
        let r = site.regrade(id).await;
        if r.reduces_done >= target || r.status != RegradeStatus::Reducing {
            tokio::time::sleep(jitter).await;
            w.kill9();
            let r = site.regrade(id).await;
            eprintln!(
                "{}: SIGKILL with {} reduce tasks done ({})",
                site.name,
                r.reduces_done,
                r.status.as_str()
            );
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{}: no progress within 120 s; its log:\n{}",
            w.spec.name,
            w.tail(40)
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn run_case(site: &mut Site) {
    let plan = semester::plan(STUDENTS);
    build_university(site, &plan).await;
    let name = site.name;

    let file = site.write(
        "raised.json",
        &serde_json::to_string_pretty(&raised()).unwrap(),
    );
    let (code, out, err) = site.cli(&["regrade", "--policy", &file, "--no-wait"]);
    assert_eq!(code, 0, "{name}: eportal regrade --no-wait: {out}{err}");
    assert!(
        out.contains("policy version 1 → 2"),
        "{name}: the regrade goes from version 1 to 2: {out}"
    );
    let id = site.store.regrades(1).await.unwrap()[0].id;
    let r = site.regrade(id).await;
    assert_eq!(r.status, RegradeStatus::Mapping, "{name}: {r:?}");

    abort_on(site, "map:3").await;
    let r = site.regrade(id).await;
    eprintln!("{name}: after the map:3 abort: {r:?}");
    assert_eq!(
        r.status,
        RegradeStatus::Mapping,
        "{name}: map task 3 was never stored, so mapping cannot be over"
    );
    assert!(r.maps_done < r.parts.map);

    abort_on(site, "reduce:5").await;
    let r = site.regrade(id).await;
    eprintln!("{name}: after the reduce:5 abort: {r:?}");
    assert_eq!(
        (r.status, r.maps_done),
        (RegradeStatus::Reducing, r.parts.map),
        "{name}: the maps are done and reduce task 5 was never stored"
    );
    assert!(r.reduces_done < r.parts.reduce);

    kill_at_random(site, id).await;
    let r = site.regrade(id).await;
    eprintln!("{name}: after the random kill: {r:?}");
    assert_ne!(
        r.status,
        RegradeStatus::Done,
        "{name}: no worker has switched yet"
    );
    assert!(!r.status.is_final(), "{name}: {r:?}");
    assert_eq!(
        site.store.active_policy_version().await.unwrap(),
        1,
        "{name}: until the switch the old book is active"
    );

    site.start_worker("final-a").await;
    site.start_worker("final-b").await;
    let deadline = Instant::now() + Duration::from_secs(180);
    let done = loop {
        let r = site.regrade(id).await;
        match r.status {
            RegradeStatus::Done => break r,
            RegradeStatus::Failed => panic!("{name}: the regrade failed: {r:?}"),
            _ => {}
        }
        assert!(
            Instant::now() < deadline,
            "{name}: the regrade is not done 180 s after two fresh workers started: {r:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    eprintln!("{name}: done: {done:?}");
    site.assert_queue_drained(Duration::from_secs(60)).await;
    for w in &mut site.workers {
        assert!(
            w.is_running(),
            "{} died; its log:\n{}",
            w.spec.name,
            w.tail(40)
        );
    }
    verify(site, &plan, &done).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_regrade_with_killed_workers_equals_grading_from_scratch() {
    let mut site = Site::embedded().await;
    run_case(&mut site).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distributed_regrade_with_killed_workers_equals_grading_from_scratch() {
    let mut site = Site::distributed().await;
    run_case(&mut site).await;
}

#[test]
fn the_written_out_bands_agree_with_the_policies() {
    for tenths in (0..=1000).step_by(5) {
        let total = Score::from_tenths(tenths);
        for (year, policy) in [(2023, raised()), (2024, strict())] {
            let g = policy.grade(total);
            assert_eq!(
                by_hand(year, total),
                (g.grade.as_str(), g.points),
                "total {total} in {year}"
            );
        }
    }
}
