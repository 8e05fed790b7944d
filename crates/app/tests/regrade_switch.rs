//! Switching grading policy versions over the embedded (SQLite) deployment, read the way
//! students and the registry read them: over HTTP from a running portal. A regrade switches
//! every result at once (a reader sees the old view or the new one, never a mix); a running
//! portal follows the switch without a restart; a second change waits for the first.
//!
//! Every expected figure (book 1 before the switch, book 2 after it) is worked out by hand
//! from the policies' tables in the comments of `common/regrade.rs`, never by the core's own
//! grading or GPA functions.

mod common;

use common::regrade::{
    after, before, publish_both, registry, results, session, standing_of,
    university_with_two_cohorts, unlimited, COHORT_2023, COHORT_2024, EVERYONE,
};
use common::university::{ADMIN, STUDENTS};
use common::{path_matric, problem, spawn_app_with, TestApp};
use eportal::app::Running;
use eportal::config::ProcessRole;
use eportal::services::{ServiceError, Services};
use eportal::{App, Config};
use eportal_core::{GradingPolicy, MatricNo, PolicyScope};
use eportal_ports::{Regrade, RegradeStatus};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Book 2: the registry changes the default to the 5-point scale without E.
async fn drop_e(services: &Services) -> Regrade {
    let without_e = GradingPolicy::five_point_without_e();
    services
        .change_policy(&registry(), PolicyScope::Default, without_e)
        .await
        .expect("the change is accepted")
}

/// Polls a regrade until it is final (bounded).
async fn until_final(services: &Services, id: i64) -> Regrade {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let r = services.regrade_status(id).await.expect("the regrade");
        if r.status.is_final() {
            return r;
        }
        assert!(
            Instant::now() < deadline,
            "regrade {id} not final after 60 s: {r:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A worker process of the same deployment (same SQLite file and sheets), in this process:
/// with a portal started as `ProcessRole::Portal`, it runs every job and the portal none.
async fn start_workers(app: &TestApp) -> Running {
    let mut config: Config = (*app.running.services.config).clone();
    config.role = ProcessRole::Worker;
    let listener = eportal::http::serve::bind("127.0.0.1:0".parse().unwrap()).expect("bind port 0");
    App::build(config)
        .await
        .expect("the worker builds over the same SQLite file")
        .start(Some(listener))
        .await
        .expect("the worker starts")
}

#[tokio::test]
async fn a_reader_never_sees_a_mix() {
    let app = spawn_app_with(unlimited).await;
    university_with_two_cohorts(&app).await;
    publish_both(&app).await;
    let services = app.running.services.clone();
    let admin = app.login(ADMIN).await;
    let reader = STUDENTS[0];
    let old = results(&app, &admin, reader).await;
    assert_eq!(standing_of(&old), before(reader), "{old}");

    // Two readers of STUDENTS[0] while the regrade runs: one over HTTP (the cache, and the
    // store on a miss), one straight from the store (no cache at all). Each read is noted
    // with the phase it began in.
    let phase = Arc::new(AtomicU8::new(BEFORE));
    let http_reader = {
        let (client, url, token, phase) = (
            app.client.clone(),
            app.url(&format!("/api/v1/students/{}/results", path_matric(reader))),
            admin.clone(),
            phase.clone(),
        );
        tokio::spawn(async move {
            let mut seen = Vec::new();
            loop {
                let began = phase.load(Ordering::Acquire);
                if began == STOP {
                    return seen;
                }
                let res = client
                    .get(&url)
                    .bearer_auth(&token)
                    .send()
                    .await
                    .expect("the portal answers");
                assert_eq!(res.status(), StatusCode::OK);
                seen.push((began, res.json::<Value>().await.expect("JSON")));
            }
        })
    };
    let store_reader = {
        let (services, phase) = (services.clone(), phase.clone());
        let m = MatricNo::parse(reader).unwrap();
        tokio::spawn(async move {
            let mut seen = Vec::new();
            loop {
                let began = phase.load(Ordering::Acquire);
                if began == STOP {
                    return seen;
                }
                let view = services.load_results(&m).await.expect("results load");
                seen.push((began, serde_json::to_value(view).unwrap()));
                tokio::task::yield_now().await;
            }
        })
    };

    let started = drop_e(&services).await;
    phase.store(RUNNING, Ordering::Release);
    // Five students have scores: the switch waits for the workers.
    assert_eq!(
        (started.status, started.from_version, started.to_version),
        (RegradeStatus::Mapping, 1, 2)
    );
    let done = until_final(&services, started.id).await;
    assert_eq!(done.status, RegradeStatus::Done, "{done:?}");
    // 10 records graded (5 students × 2 courses); changed: STUDENTS[0] CSC 201 (E → F),
    // STUDENTS[2] MTH 201 (E → F), COHORT_2023 MTH 201 (E → F) = 3.
    assert_eq!(
        (done.records, done.changed, done.students),
        (10, 3, 5),
        "{done:?}"
    );

    // Let the readers go on until the new view has been served, then stop them.
    let deadline = Instant::now() + Duration::from_secs(10);
    let new = loop {
        let view = results(&app, &admin, reader).await;
        if view["policy_version"] == 2 {
            break view;
        }
        assert!(
            Instant::now() < deadline,
            "still the old view 10 s after the switch: {view}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(standing_of(&new), after(reader), "{new}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    phase.store(STOP, Ordering::Release);

    for (how, seen) in [
        ("HTTP", http_reader.await.unwrap()),
        ("store", store_reader.await.unwrap()),
    ] {
        let mut switched = false;
        for (i, (_, view)) in seen.iter().enumerate() {
            if *view == new {
                switched = true;
            } else {
                assert_eq!(
                    *view, old,
                    "{how} read {i} is neither the old view nor the new one"
                );
                assert!(
                    !switched,
                    "{how} read {i}: the old view again after the new one"
                );
            }
        }
        assert!(switched, "{how}: the reader never saw the new view");
        // The readers overlapped the regrade: reads begun while it ran still got the whole
        // old view (the switch had not happened yet).
        let old_while_running = seen
            .iter()
            .filter(|(p, v)| *p == RUNNING && *v == old)
            .count();
        assert!(
            old_while_running > 0,
            "{how}: no read of the old view while the regrade ran ({} reads)",
            seen.len()
        );
    }
}

/// The phases of [`a_reader_never_sees_a_mix`] a read can begin in.
const BEFORE: u8 = 0;
const RUNNING: u8 = 1;
const STOP: u8 = 2;

/// Reads `matric`'s results with `token` until they are book 2's (each read is book 1's or
/// book 2's, whole), failing at `deadline`.
async fn until_book_2(app: &TestApp, token: &str, matric: &str, deadline: Instant) {
    loop {
        let view = results(app, token, matric).await;
        if view["policy_version"] == 2 {
            assert_eq!(standing_of(&view), after(matric), "{matric}: {view}");
            return;
        }
        assert_eq!(standing_of(&view), before(matric), "{matric}: {view}");
        assert!(
            Instant::now() < deadline,
            "{matric}: still book 1 five seconds after the switch"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// How many reads the portal's fast lane (cached results, before the router) has answered.
async fn fast_lane_answers(app: &TestApp) -> u64 {
    let text = app.get("/metrics", None).await.text().await.unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("eportal_http_fast_lane_total "))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn a_running_portal_serves_the_new_version_without_restart() {
    // A portal with no workers of its own and a worker beside it over the same SQLite file:
    // the regrade is switched by the worker, so the portal learns of it only by asking.
    let app = spawn_app_with(|c| {
        unlimited(c);
        c.role = ProcessRole::Portal;
    })
    .await;
    university_with_two_cohorts(&app).await;
    let workers = start_workers(&app).await;
    publish_both(&app).await;
    let admin = app.login(ADMIN).await;
    let mut own = Vec::new();
    for m in STUDENTS {
        // Each student reads their own results twice under book 1: the second read is
        // answered from the cache (the results-day path).
        let token = app.login(m).await;
        for _ in 0..2 {
            assert_eq!(
                standing_of(&results(&app, &token, m).await),
                before(m),
                "{m}"
            );
        }
        own.push((m, token));
    }
    for m in [COHORT_2023, COHORT_2024] {
        assert_eq!(
            standing_of(&results(&app, &admin, m).await),
            before(m),
            "{m}"
        );
    }

    // The cache warmer loads each published student again a few seconds after publication
    // (`results_store_timeout_ms` + 1 s); let it finish, so that nothing but the readers
    // below asks this portal anything once the regrade is done.
    tokio::time::sleep(Duration::from_millis(
        app.running.services.config.results_store_timeout_ms + 2_000,
    ))
    .await;
    let portal = &app.running.services;
    let started = drop_e(portal).await;
    let done = until_final(portal, started.id).await;
    assert_eq!(done.status, RegradeStatus::Done, "{done:?}");

    // Within a few seconds (the portal asks which book is active at most every second),
    // every student's results are book 2's, from the same running portal: first as the
    // students read their own (nothing else asks the portal anything meanwhile), then as
    // the registry reads everyone's.
    let deadline = Instant::now() + Duration::from_secs(5);
    let fast = fast_lane_answers(&app).await;
    for (m, token) in &own {
        until_book_2(&app, token, m, deadline).await;
    }
    assert!(
        fast_lane_answers(&app).await > fast,
        "the students' reads were answered from the cache, before the router"
    );
    for m in EVERYONE {
        until_book_2(&app, &admin, m, deadline).await;
    }
    assert_eq!(portal.policies.known_version(), 2);
    workers.shutdown().await;
}

#[tokio::test]
async fn a_policy_change_while_one_runs_is_refused() {
    // No workers once the results are published: the regrade stays in its first phase.
    let app = spawn_app_with(|c| c.role = ProcessRole::Portal).await;
    university_with_two_cohorts(&app).await;
    let workers = start_workers(&app).await;
    publish_both(&app).await;
    workers.shutdown().await;

    let services = &app.running.services;
    let running = drop_e(services).await;
    assert_eq!(running.status, RegradeStatus::Mapping);

    let named = |m: &str| {
        assert!(
            m.contains(&format!("regrade {}", running.id)) && m.contains("still running"),
            "the refusal names the running regrade: {m}"
        );
    };
    match services
        .change_policy(
            &registry(),
            PolicyScope::Cohort(session(2023)),
            GradingPolicy::four_point(),
        )
        .await
    {
        Err(ServiceError::Conflict(m)) => named(&m),
        other => panic!(
            "a second change while regrade {} runs: {other:?}",
            running.id
        ),
    }
    // Over HTTP: 409 with the same words.
    let admin = app.login(ADMIN).await;
    let res = app
        .post_json(
            "/api/v1/admin/policies",
            Some(&admin),
            &json!({ "scope": "cohort:2023/2024", "policy": GradingPolicy::four_point() }),
        )
        .await;
    let body = problem(res, StatusCode::CONFLICT).await;
    named(body["detail"].as_str().unwrap());

    // Refused means nothing written: book 1 still serves, book 2 waits, no book 3.
    let store = &services.ports.store;
    assert_eq!(store.active_policy_version().await.unwrap(), 1);
    assert_eq!(store.policy_book(3).await.unwrap(), None);
    assert_eq!(store.regrades(10).await.unwrap().len(), 2);
    for m in EVERYONE {
        assert_eq!(
            standing_of(&results(&app, &admin, m).await),
            before(m),
            "{m}"
        );
    }

    // Once a worker finishes the regrade, the next change is accepted.
    let workers = start_workers(&app).await;
    assert_eq!(
        until_final(services, running.id).await.status,
        RegradeStatus::Done
    );
    let next = services
        .change_policy(
            &registry(),
            PolicyScope::Cohort(session(2023)),
            GradingPolicy::four_point(),
        )
        .await
        .expect("accepted once the regrade is done");
    assert_eq!((next.from_version, next.to_version), (2, 3));
    assert_eq!(
        until_final(services, next.id).await.status,
        RegradeStatus::Done
    );
    workers.shutdown().await;
}
