//! The student list (registry staff only, paged) and a student's own results.

mod common;

use common::university::{ADMIN, LECTURER, SENATE, STUDENTS};
use common::{json, path_matric, problem, spawn_app};
use reqwest::StatusCode;

#[tokio::test]
async fn a_student_sees_only_their_own_results() {
    let app = spawn_app().await;
    let me = app.login(STUDENTS[0]).await;
    let own = format!("/api/v1/students/{}/results", path_matric(STUDENTS[0]));
    let (status, body) = json(app.get(&own, Some(&me)).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["matric_no"], STUDENTS[0]);
    assert_eq!(body["name"], "Ada Obi");
    // Nothing is published yet.
    assert_eq!(
        body["semesters"].as_array().map(Vec::len),
        Some(0),
        "{body}"
    );

    let other = format!("/api/v1/students/{}/results", path_matric(STUDENTS[1]));
    let body = problem(app.get(&other, Some(&me)).await, StatusCode::FORBIDDEN).await;
    assert!(
        body["detail"].as_str().unwrap().contains("own results"),
        "{body}"
    );

    // Registry staff may read anyone's; an unknown student is a 404, a bad number a 400.
    let admin = app.login(ADMIN).await;
    let (status, body) = json(app.get(&other, Some(&admin)).await).await;
    assert_eq!(
        (status, body["matric_no"].as_str()),
        (StatusCode::OK, Some(STUDENTS[1]))
    );
    let missing = format!("/api/v1/students/{}/results", path_matric("SCI/2021/9999"));
    problem(app.get(&missing, Some(&admin)).await, StatusCode::NOT_FOUND).await;
    let body = problem(
        app.get("/api/v1/students/bad%20matric!/results", Some(&admin))
            .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(body["errors"][0]["name"], "matric_no", "{body}");
}

#[tokio::test]
async fn registry_staff_page_through_the_student_list() {
    let app = spawn_app().await;
    let admin = app.login(ADMIN).await;

    let (status, page1) = json(app.get("/api/v1/students?limit=2", Some(&admin)).await).await;
    assert_eq!(status, StatusCode::OK, "{page1}");
    assert_eq!(page1["total"], 3);
    assert_eq!(
        (page1["limit"].as_u64(), page1["offset"].as_u64()),
        (Some(2), Some(0))
    );
    let matrics = |page: &serde_json::Value| -> Vec<String> {
        page["students"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["matric_no"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(matrics(&page1), STUDENTS[..2]);
    let (_, page2) = json(
        app.get("/api/v1/students?limit=2&offset=2", Some(&admin))
            .await,
    )
    .await;
    assert_eq!(matrics(&page2), STUDENTS[2..]);
    assert_eq!(page2["total"], 3);

    // The default page holds everyone here.
    let senate = app.login(SENATE).await;
    let (status, all) = json(app.get("/api/v1/students", Some(&senate)).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(all["limit"], 50);
    assert_eq!(matrics(&all), STUDENTS);

    for who in [LECTURER, STUDENTS[0]] {
        let t = app.login(who).await;
        problem(
            app.get("/api/v1/students", Some(&t)).await,
            StatusCode::FORBIDDEN,
        )
        .await;
    }
}

#[tokio::test]
async fn bad_paging_values_are_named() {
    let app = spawn_app().await;
    let admin = app.login(ADMIN).await;
    for (query, name) in [
        ("limit=abc", "limit"),
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("offset=-1", "offset"),
    ] {
        let res = app
            .get(&format!("/api/v1/students?{query}"), Some(&admin))
            .await;
        let body = problem(res, StatusCode::BAD_REQUEST).await;
        assert_eq!(body["errors"][0]["name"], name, "{query}: {body}");
        assert!(
            body["detail"].as_str().unwrap().starts_with(name),
            "{query}: {body}"
        );
    }
    let (status, _) = json(app.get("/api/v1/students?limit=500", Some(&admin)).await).await;
    assert_eq!(status, StatusCode::OK);
}
