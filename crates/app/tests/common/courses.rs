//! Course-result helpers of the API tests: the course-result URLs of the seeded 2024/2025
//! first semester, a workflow step and its expected outcome, and a small valid score sheet
//! uploaded and processed.

use super::university::{CSC201, LECTURER, SENATE, STUDENTS};
use super::{json, path_matric, TestApp};
use reqwest::StatusCode;
use serde_json::json;

pub fn course_url(code: &str, action: &str) -> String {
    let base = format!("/api/v1/course-results/{code}/2024-2025/first");
    if action.is_empty() {
        base
    } else {
        format!("{base}/{action}")
    }
}

pub async fn act(app: &TestApp, token: &str, code: &str, action: &str) -> reqwest::Response {
    app.post_json(&course_url(code, action), Some(token), &json!({}))
        .await
}

pub async fn moves_to(app: &TestApp, token: &str, code: &str, action: &str, state: &str) {
    let (status, body) = json(act(app, token, code, action).await).await;
    assert_eq!(status, StatusCode::OK, "{action} {code}: {body}");
    assert_eq!(body["state"], state, "{action} {code}: {body}");
}

pub fn sheet() -> String {
    let mut s = String::from("Matric No,CA,Exam\n");
    for (m, ca, exam) in [
        (STUDENTS[0], 30, 45),
        (STUDENTS[1], 25, 30),
        (STUDENTS[2], 10, 20),
    ] {
        s.push_str(&format!("{m},{ca},{exam}\n"));
    }
    s
}

/// Uploads the sheet and waits until it is processed; returns its id.
pub async fn upload_processed(app: &TestApp, token: &str, code: &str) -> i64 {
    upload_csv_processed(app, token, code, &sheet()).await
}

/// Uploads `csv` and waits until it is processed; returns its id.
pub async fn upload_csv_processed(app: &TestApp, token: &str, code: &str, csv: &str) -> i64 {
    let (status, body) = app.upload_csv(token, code, csv).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let id = body["id"].as_i64().unwrap();
    let done = app.wait_processed(token, id).await;
    assert_eq!(done["status"], "processed", "{done}");
    id
}

/// Takes `code` from an uploaded sheet to published: the lecturer submits it, its HOD, dean
/// and senate approve, and senate publishes.
pub async fn publish(app: &TestApp, code: &str) {
    publish_sheet(app, code, &sheet()).await;
}

/// [`publish`] with the lecturer's own sheet `csv`; every registered student it leaves
/// without a score is confirmed at submission.
pub async fn publish_sheet(app: &TestApp, code: &str, csv: &str) {
    use super::university::{DEAN, HOD, LECTURER, SENATE};
    let lecturer = app.login(LECTURER).await;
    upload_csv_processed(app, &lecturer, code, csv).await;
    let (_, detail) = json(app.get(&course_url(code, ""), Some(&lecturer)).await).await;
    let confirm = json!({ "confirm_unscored": detail["unscored"] });
    let res = app
        .post_json(&course_url(code, "submit"), Some(&lecturer), &confirm)
        .await;
    let (status, body) = json(res).await;
    assert_eq!(status, StatusCode::OK, "submit {code}: {body}");
    assert_eq!(body["state"], "submitted", "submit {code}: {body}");
    moves_to(app, &app.login(HOD).await, code, "approve", "hod_approved").await;
    moves_to(
        app,
        &app.login(DEAN).await,
        code,
        "approve",
        "faculty_approved",
    )
    .await;
    let senate = app.login(SENATE).await;
    moves_to(app, &senate, code, "approve", "senate_approved").await;
    moves_to(app, &senate, code, "publish", "published").await;
}

/// The CSC 201 line of a student's published results.
/// Its (line, whole results body).
pub async fn csc201_line(app: &TestApp, matric: &str) -> (serde_json::Value, serde_json::Value) {
    let token = app.login(matric).await;
    let res = app
        .get(
            &format!("/api/v1/students/{}/results", path_matric(matric)),
            Some(&token),
        )
        .await;
    let (status, body) = json(res).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let semester = body["semesters"][0].clone();
    let line = semester["courses"]
        .as_array()
        .expect("courses")
        .iter()
        .find(|c| c["code"] == "CSC 201" || c["code"] == "CSC201")
        .cloned()
        .unwrap_or_else(|| panic!("CSC 201 is in the results: {body}"));
    (line, body)
}

/// CSC 201's lecturer uploads its sheet and submits the result.
pub async fn csc201_submitted(app: &TestApp) {
    let lecturer = app.login(LECTURER).await;
    upload_processed(app, &lecturer, CSC201.0).await;
    moves_to(app, &lecturer, CSC201.0, "submit", "submitted").await;
}

/// CSC 201's state and return reason, through the API (as senate, who sees every course).
pub async fn csc201_state(app: &TestApp) -> (String, Option<String>) {
    let token = app.login(SENATE).await;
    let (status, body) = json(app.get(&course_url(CSC201.0, ""), Some(&token)).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    (
        body["state"].as_str().unwrap().to_string(),
        body["reason"].as_str().map(String::from),
    )
}
