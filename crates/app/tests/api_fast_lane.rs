//! The fast lane for cached results reads: a student's own results and a results link are
//! answered before the router when the cache holds everything they need, with the same
//! answer the full path gives (body, `ETag`, `304`, headers, request id), each read counted
//! once against the client's rate limit; everything else (another reader, an ended session,
//! a first read) goes the full path. `eportal_http_fast_lane_total` tells which path answered.

mod common;

use common::courses::publish;
use common::university::{CSC201, SENATE, STUDENTS};
use common::{path_matric, results_link, TestApp};
use reqwest::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH, RETRY_AFTER};
use reqwest::StatusCode;

/// `eportal_http_fast_lane_total` now.
async fn fast_lane(app: &TestApp) -> u64 {
    let text = app.get("/metrics", None).await.text().await.unwrap();
    text.lines()
        .find(|l| l.starts_with("eportal_http_fast_lane_total "))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .expect("the fast-lane counter is in /metrics")
}

fn header(res: &reqwest::Response, name: &str) -> Option<String> {
    res.headers()
        .get(name)
        .map(|v| v.to_str().expect("an ASCII header").to_string())
}

#[tokio::test]
async fn a_cached_read_is_answered_by_the_fast_lane_exactly_as_by_the_full_path() {
    let app = common::spawn_app().await;
    publish(&app, CSC201.0).await;
    let student = app.login(STUDENTS[0]).await;
    let path = format!("/api/v1/students/{}/results", path_matric(STUDENTS[0]));

    // The first read checks the session against the store: the full path's.
    let before = fast_lane(&app).await;
    let first = app.get(&path, Some(&student)).await;
    assert_eq!(first.status(), StatusCode::OK);
    assert_eq!(
        fast_lane(&app).await,
        before,
        "a first read goes the full path"
    );
    let first_etag = header(&first, "etag").expect("an ETag");
    let first_body = first.text().await.unwrap();

    // Now the session version and the results are cached: the fast lane answers.
    let res = app
        .request(reqwest::Method::GET, &path, Some(&student))
        .header("x-request-id", "fast-lane-check-1")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        fast_lane(&app).await,
        before + 1,
        "the second read is the fast lane's"
    );
    assert_eq!(
        header(&res, "x-request-id").as_deref(),
        Some("fast-lane-check-1")
    );
    assert_eq!(header(&res, ETAG.as_str()), Some(first_etag.clone()));
    assert_eq!(
        header(&res, CONTENT_TYPE.as_str()).as_deref(),
        Some("application/json")
    );
    assert_eq!(
        header(&res, CACHE_CONTROL.as_str()).as_deref(),
        Some("private, no-cache")
    );
    assert_eq!(res.text().await.unwrap(), first_body, "the same bytes");

    // Senate reads the same student the full path's way: the same document.
    let senate = app.login(SENATE).await;
    let staff = app.get(&path, Some(&senate)).await;
    assert_eq!(staff.status(), StatusCode::OK);
    assert_eq!(
        fast_lane(&app).await,
        before + 1,
        "another reader is the full path's"
    );
    assert_eq!(header(&staff, ETAG.as_str()), Some(first_etag.clone()));
    assert!(header(&staff, "x-request-id").is_some());
    assert_eq!(staff.text().await.unwrap(), first_body);

    // A refresh that changed nothing: 304 from the fast lane, with the tag and no body.
    let again = app
        .request(reqwest::Method::GET, &path, Some(&student))
        .header(IF_NONE_MATCH, &first_etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(fast_lane(&app).await, before + 2);
    assert_eq!(header(&again, ETAG.as_str()), Some(first_etag));
    assert!(again.text().await.unwrap().is_empty());

    // Someone else's results: refused by the full path, never by the fast lane.
    let other = app.login(STUDENTS[1]).await;
    let res = app.get(&path, Some(&other)).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(fast_lane(&app).await, before + 2);

    // A signed-out token: its session version is no longer the cached one, so the full path
    // answers, and it refuses.
    let res = app
        .post_json(
            "/api/v1/auth/logout",
            Some(&student),
            &serde_json::json!({}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = app.get(&path, Some(&student)).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(fast_lane(&app).await, before + 2);
}

#[tokio::test]
async fn a_results_link_is_answered_by_the_fast_lane_with_the_links_own_headers() {
    let app = common::spawn_app().await;
    publish(&app, CSC201.0).await;
    let link = results_link(&app, STUDENTS[2]).await;
    let path = format!("/api/v1/r/{link}");
    let first = app.get(&path, None).await;
    assert_eq!(first.status(), StatusCode::OK);
    let first_body = first.text().await.unwrap();
    let before = fast_lane(&app).await;
    let res = app.get(&path, None).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        fast_lane(&app).await,
        before + 1,
        "a cached link read is the fast lane's"
    );
    assert_eq!(
        header(&res, CACHE_CONTROL.as_str()).as_deref(),
        Some("private, no-store")
    );
    assert_eq!(
        header(&res, "referrer-policy").as_deref(),
        Some("no-referrer")
    );
    assert_eq!(
        header(&res, CONTENT_TYPE.as_str()).as_deref(),
        Some("application/json")
    );
    let body = res.text().await.unwrap();
    assert_eq!(body, first_body, "the same bytes");
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["matric_no"], STUDENTS[2]);

    // An altered link is the full path's to refuse.
    let mut altered = link.clone();
    altered.pop();
    altered.push(if link.ends_with('A') { 'B' } else { 'A' });
    let res = app.get(&format!("/api/v1/r/{altered}"), None).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(fast_lane(&app).await, before + 1);
}

#[tokio::test]
async fn each_read_counts_once_against_the_rate_limit_whichever_path_answers_it() {
    const LIMIT: u64 = 30;
    let app = common::spawn_app_with(|c| c.limits.rate_limit_per_minute = LIMIT).await;
    publish(&app, CSC201.0).await;
    let student = app.login(STUDENTS[0]).await;
    let path = format!("/api/v1/students/{}/results", path_matric(STUDENTS[0]));
    let before = fast_lane(&app).await;
    for i in 1..=LIMIT {
        let res = app.get(&path, Some(&student)).await;
        assert_eq!(res.status(), StatusCode::OK, "read {i} of the allowance");
    }
    assert_eq!(
        fast_lane(&app).await,
        before + LIMIT - 1,
        "the first read went the full path, the others the fast lane"
    );
    let refused = app.get(&path, Some(&student)).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = header(&refused, RETRY_AFTER.as_str())
        .expect("Retry-After")
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "Retry-After {wait}");
    let body: serde_json::Value = refused.json().await.unwrap();
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("requests in a minute"),
        "{body}"
    );
}
