//! Publication warms the results cache: once senate publishes a course, every registered
//! student's results are loaded into the cache in the background, once each however many
//! courses were published together, so the first reads of results day are hits; and a copy
//! of the old results written after that warm-up (by another portal's read racing the
//! publication) is replaced by the second warm-up a little later.

mod common;

use common::university::{CSC201, DEAN, HOD, LECTURER, MTH201, MTH_HOD, SENATE, STUDENTS};
use common::{cache_hits, json, path_matric, spawn_app, TestApp};
use eportal::services::results::results_cache_key;
use eportal::services::results_cache::ResultsDoc;
use eportal_core::MatricNo;
use reqwest::StatusCode;
use serde_json::json;
use std::time::{Duration, Instant};

async fn process_and_approve(app: &TestApp, course: &str, hod: &str) {
    let lecturer = app.login(LECTURER).await;
    let mut sheet = String::from("Matric No,CA,Exam\n");
    for (i, m) in STUDENTS.iter().enumerate() {
        sheet.push_str(&format!("{m},{},{}\n", 25 + i, 35 + 2 * i));
    }
    let (status, body) = app.upload_csv(&lecturer, course, &sheet).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let report = app
        .wait_processed(&lecturer, body["id"].as_i64().unwrap())
        .await;
    assert_eq!(report["status"], "processed", "{report}");
    for (who, action) in [
        (LECTURER, "submit"),
        (hod, "approve"),
        (DEAN, "approve"),
        (SENATE, "approve"),
    ] {
        act(app, who, course, action).await;
    }
}

async fn act(app: &TestApp, who: &str, course: &str, action: &str) {
    let token = app.login(who).await;
    let path = format!("/api/v1/course-results/{course}/2024-2025/first/{action}");
    let (status, body) = json(app.post_json(&path, Some(&token), &json!({})).await).await;
    assert_eq!(status, StatusCode::OK, "{who} {action} {course}: {body}");
}

#[tokio::test]
async fn publishing_warms_every_students_cached_results() {
    let app = spawn_app().await;
    process_and_approve(&app, CSC201.0, HOD).await;
    process_and_approve(&app, MTH201.0, MTH_HOD).await;
    let cache = app.running.services.ports.cache.clone();
    let version = app.running.services.policies.known_version();
    let keys: Vec<String> = STUDENTS
        .iter()
        .map(|m| results_cache_key(version, &MatricNo::parse(m).unwrap()))
        .collect();
    for k in &keys {
        assert!(
            cache.get(k).await.unwrap().is_none(),
            "nothing is cached before publication"
        );
    }

    act(&app, SENATE, CSC201.0, "publish").await;
    act(&app, SENATE, MTH201.0, "publish").await;

    // The warmer fills every student's entry in the background.
    let deadline = Instant::now() + Duration::from_secs(15);
    for k in &keys {
        while cache.get(k).await.unwrap().is_none() {
            assert!(Instant::now() < deadline, "{k} was not warmed within 15 s");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let deadline = Instant::now() + Duration::from_secs(15);
    while app.running.services.warmer.pending() > 0 {
        assert!(
            Instant::now() < deadline,
            "the warmer did not finish within 15 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // The warmed entry holds both published courses, and the student's first read is a hit.
    let token = app.login(STUDENTS[0]).await;
    let before = cache_hits(&app).await;
    let path = format!("/api/v1/students/{}/results", path_matric(STUDENTS[0]));
    let (status, body) = json(app.get(&path, Some(&token)).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        cache_hits(&app).await,
        before + 1,
        "the first read was not a hit"
    );
    let codes: Vec<&str> = body["semesters"][0]["courses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["CSC 201", "MTH 201"], "{body}");
    app.running.shutdown().await;
}

#[tokio::test]
async fn a_stale_copy_written_after_the_warm_up_is_replaced_by_the_second_pass() {
    // A short store timeout, so the second pass comes 1.2 s after the first.
    let app = common::spawn_app_with(|c| c.results_store_timeout_ms = 200).await;
    process_and_approve(&app, CSC201.0, HOD).await;
    act(&app, SENATE, CSC201.0, "publish").await;
    let cache = app.running.services.ports.cache.clone();
    let version = app.running.services.policies.known_version();
    let key = results_cache_key(version, &MatricNo::parse(STUDENTS[0]).unwrap());
    let deadline = Instant::now() + Duration::from_secs(15);
    while cache.get(&key).await.unwrap().is_none() {
        assert!(
            Instant::now() < deadline,
            "{key} was not warmed within 15 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Another portal's read that loaded the results before the publication lands now: an
    // old copy, fresh for an hour.
    let old = ResultsDoc::new(br#"{"semesters":[]}"#, eportal_ports::now_ms() + 3_600_000);
    cache
        .put(&key, old.as_cached(), Duration::from_secs(3600))
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let raw = cache.get(&key).await.unwrap().expect("an entry");
        let doc = ResultsDoc::decode(raw).expect("a document");
        if std::str::from_utf8(doc.json()).unwrap().contains("CSC 201") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the old copy was still served 10 s after the publication"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    app.running.shutdown().await;
}
