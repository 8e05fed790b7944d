//! A student's results as a cacheable response: a strong `ETag` and `Cache-Control: private,
//! no-cache`, a `304` without a body when the client already holds them, a new `ETag` once a
//! result changes; and a rush of reads of one uncached student costing the store one read.

mod common;

use common::university::{ADMIN, CSC201, DEAN, HOD, LECTURER, MTH201, MTH_HOD, SENATE, STUDENTS};
use common::{json, path_matric, TestApp};
use reqwest::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use reqwest::StatusCode;
use serde_json::json;

async fn publish(app: &TestApp, course: &str, hod: &str) {
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
        (SENATE, "publish"),
    ] {
        let token = app.login(who).await;
        let path = format!("/api/v1/course-results/{course}/2024-2025/first/{action}");
        let (status, body) = json(app.post_json(&path, Some(&token), &json!({})).await).await;
        assert_eq!(status, StatusCode::OK, "{who} {action} {course}: {body}");
    }
}

fn header(res: &reqwest::Response, name: reqwest::header::HeaderName) -> String {
    res.headers()
        .get(&name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .expect("an ASCII header")
        .to_string()
}

/// The value of one `eportal_cache_total` outcome in `/metrics`.
async fn cache_outcome(app: &TestApp, outcome: &str) -> u64 {
    let text = app.get("/metrics", None).await.text().await.unwrap();
    let series = format!("eportal_cache_total{{outcome=\"{outcome}\"}}");
    text.lines()
        .find(|l| l.starts_with(&series))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn a_refresh_that_changed_nothing_is_a_304_and_a_new_result_a_new_etag() {
    let app = common::spawn_app().await;
    publish(&app, CSC201.0, HOD).await;
    let token = app.login(STUDENTS[0]).await;
    let path = format!("/api/v1/students/{}/results", path_matric(STUDENTS[0]));

    let res = app.get(&path, Some(&token)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(header(&res, CONTENT_TYPE), "application/json");
    assert_eq!(header(&res, CACHE_CONTROL), "private, no-cache");
    assert!(res.headers().get("x-eportal-stale").is_none());
    let etag = header(&res, ETAG);
    assert!(
        etag.len() > 2 && etag.starts_with('"') && !etag.starts_with("W/"),
        "a strong, quoted tag: {etag}"
    );
    let first: serde_json::Value = res.json().await.unwrap();
    assert_eq!(first["semesters"][0]["courses"][0]["code"], "CSC 201");

    // The same bytes again (a hit this time) carry the same tag.
    let again = app.get(&path, Some(&token)).await;
    assert_eq!(header(&again, ETAG), etag);
    assert_eq!(again.json::<serde_json::Value>().await.unwrap(), first);

    // A client holding them is told so, without a body; a weak or listed tag matches too.
    for held in [
        etag.clone(),
        format!("W/{etag}"),
        format!("\"0000\", {etag}"),
    ] {
        let res = app
            .request(reqwest::Method::GET, &path, Some(&token))
            .header(IF_NONE_MATCH, &held)
            .send()
            .await
            .unwrap();
        assert_eq!(
            res.status(),
            StatusCode::NOT_MODIFIED,
            "If-None-Match: {held}"
        );
        assert_eq!(header(&res, ETAG), etag);
        assert_eq!(header(&res, CACHE_CONTROL), "private, no-cache");
        assert!(res.bytes().await.unwrap().is_empty(), "a 304 has no body");
    }
    let other = app
        .request(reqwest::Method::GET, &path, Some(&token))
        .header(IF_NONE_MATCH, "\"0000\"")
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), StatusCode::OK, "another tag gets the body");

    // A second course published changes the results, so the held tag no longer matches.
    publish(&app, MTH201.0, MTH_HOD).await;
    let res = app
        .request(reqwest::Method::GET, &path, Some(&token))
        .header(IF_NONE_MATCH, &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK, "the results changed");
    let new_etag = header(&res, ETAG);
    assert_ne!(new_etag, etag, "a changed result has a new tag");
    let body: serde_json::Value = res.json().await.unwrap();
    let codes: Vec<&str> = body["semesters"][0]["courses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["CSC 201", "MTH 201"], "{body}");

    // Someone else's results are still refused, whatever tag they send.
    let res = app
        .request(
            reqwest::Method::GET,
            &format!("/api/v1/students/{}/results", path_matric(STUDENTS[1])),
            Some(&token),
        )
        .header(IF_NONE_MATCH, "*")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    app.running.shutdown().await;
}

#[tokio::test]
async fn many_concurrent_reads_of_an_uncached_student_read_the_store_once() {
    let app = common::spawn_app().await;
    let admin = app.login(ADMIN).await;
    // The admin's session is checked (and its version cached) before the rush.
    let (status, _) = json(app.get("/api/v1/students?limit=1", Some(&admin)).await).await;
    assert_eq!(status, StatusCode::OK);
    let path = format!("/api/v1/students/{}/results", path_matric(STUDENTS[1]));
    let loads_before = cache_outcome(&app, "load").await;

    let reads = (0..40).map(|_| {
        let req = app.request(reqwest::Method::GET, &path, Some(&admin));
        async move { req.send().await.expect("the portal answers") }
    });
    let answers = futures_util::future::join_all(reads).await;
    let mut tags = std::collections::HashSet::new();
    for res in answers {
        assert_eq!(res.status(), StatusCode::OK);
        tags.insert(header(&res, ETAG));
    }
    assert_eq!(tags.len(), 1, "every reader got the same document");
    assert_eq!(
        cache_outcome(&app, "load").await - loads_before,
        1,
        "40 concurrent reads of one uncached student read the store once"
    );
    app.running.shutdown().await;
}

#[tokio::test]
async fn results_past_their_freshness_are_served_at_once_and_refreshed_behind() {
    // Fresh for no time at all: every cached read is past freshness.
    let app = common::spawn_app_with(|c| c.results_cache_ttl_secs = 0).await;
    let token = app.login(STUDENTS[0]).await;
    let path = format!("/api/v1/students/{}/results", path_matric(STUDENTS[0]));
    let first = app.get(&path, Some(&token)).await;
    assert_eq!(first.status(), StatusCode::OK);
    let etag = header(&first, ETAG);
    let loads = cache_outcome(&app, "load").await;
    let hits = cache_outcome(&app, "hit").await;

    // Served from the cache (a hit, unmarked: the store is answering), and refreshed after.
    let res = app.get(&path, Some(&token)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(header(&res, ETAG), etag);
    assert!(res.headers().get("x-eportal-stale").is_none());
    assert_eq!(cache_outcome(&app, "hit").await, hits + 1);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while cache_outcome(&app, "load").await == loads {
        assert!(
            std::time::Instant::now() < deadline,
            "no background refresh within 10 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    app.running.shutdown().await;
}
