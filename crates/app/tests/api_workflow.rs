//! The approval workflow over HTTP: submit → HOD → dean → senate → publish, refusals for the
//! wrong role and the wrong state, a return with a reason, and students seeing a course
//! (with GPAs worked out by hand from the sheets' rows) only once it is published.

mod common;

use common::university::{CSC201, DEAN, HOD, LECTURER, MTH201, MTH_HOD, SENATE, STUDENTS};
use common::{json, path_matric, problem, spawn_app, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// (matric, CA, exam): one row of a sheet.
type Row = (&'static str, &'static str, &'static str);

fn csc_rows() -> Vec<Row> {
    vec![
        (STUDENTS[0], "30", "45"),
        (STUDENTS[1], "25.5", "30"),
        (STUDENTS[2], "10", "20"),
    ]
}

fn mth_rows() -> Vec<Row> {
    vec![
        (STUDENTS[0], "18", "29"),
        (STUDENTS[1], "35", "36"),
        (STUDENTS[2], "20", "22.5"),
    ]
}

fn csv(rows: &[(&str, &str, &str)]) -> String {
    let mut s = String::from("Matric No,CA,Exam\n");
    for (m, ca, exam) in rows {
        s.push_str(&format!("{m},{ca},{exam}\n"));
    }
    s
}

fn course_url(code: &str, action: &str) -> String {
    let base = format!("/api/v1/course-results/{code}/2024-2025/first");
    if action.is_empty() {
        base
    } else {
        format!("{base}/{action}")
    }
}

async fn act(app: &TestApp, token: &str, code: &str, action: &str) -> reqwest::Response {
    app.post_json(&course_url(code, action), Some(token), &json!({}))
        .await
}

async fn expect_state(app: &TestApp, token: &str, code: &str, action: &str, state: &str) -> Value {
    let (status, body) = json(act(app, token, code, action).await).await;
    assert_eq!(status, StatusCode::OK, "{action} {code}: {body}");
    assert_eq!(body["state"], state, "{action} {code}: {body}");
    body
}

async fn upload_processed(app: &TestApp, token: &str, code: &str, rows: &[(&str, &str, &str)]) {
    let (status, body) = app.upload_csv(token, code, &csv(rows)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let sheet = app
        .wait_processed(token, body["id"].as_i64().unwrap())
        .await;
    assert_eq!(sheet["status"], "processed", "{sheet}");
}

/// The GPAs these sheets must give, worked out by hand under the default policy (totals
/// rounded half up to a whole mark; A 70+ = 5, B 60+ = 4, C 50+ = 3, D 45+ = 2, E 40+ = 1,
/// F = 0; GPA = Σ units × points ÷ Σ units, two decimals), never by the core's own functions:
///
/// | student | CSC 201 (3 units) | MTH 201 (2 units) | CSC only | both |
/// |---|---|---|---|---|
/// | 0 | 30 + 45 = 75 → A 5 | 18 + 29 = 47 → D 2 | 15/3 = 5.00 | (15 + 4)/5 = 3.80 |
/// | 1 | 25.5 + 30 = 55.5 → 56 → C 3 | 35 + 36 = 71 → A 5 | 9/3 = 3.00 | (9 + 10)/5 = 3.80 |
/// | 2 | 10 + 20 = 30 → F 0 | 20 + 22.5 = 42.5 → 43 → E 1 | 0/3 = 0.00 | (0 + 2)/5 = 0.40 |
const GPA_CSC_ONLY: [&str; 3] = ["5.00", "3.00", "0.00"];
const GPA_BOTH: [&str; 3] = ["3.80", "3.80", "0.40"];

async fn results(app: &TestApp, token: &str, matric: &str) -> Value {
    let url = format!("/api/v1/students/{}/results", path_matric(matric));
    let (status, body) = json(app.get(&url, Some(token)).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

fn course_codes(results: &Value) -> Vec<String> {
    results["semesters"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["courses"].as_array().unwrap().iter())
        .map(|c| c["code"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn a_course_result_goes_from_lecturer_to_students() {
    let app = spawn_app().await;
    let lecturer = app.login(LECTURER).await;
    let hod = app.login(HOD).await;
    let mth_hod = app.login(MTH_HOD).await;
    let dean = app.login(DEAN).await;
    let senate = app.login(SENATE).await;
    let student = app.login(STUDENTS[1]).await;
    let csc = CSC201.0;

    // Nothing to submit yet.
    problem(
        act(&app, &lecturer, csc, "submit").await,
        StatusCode::CONFLICT,
    )
    .await;
    upload_processed(&app, &lecturer, csc, &csc_rows()).await;
    upload_processed(&app, &lecturer, MTH201.0, &mth_rows()).await;

    // Reviewers see the records; scores are exact decimals.
    let (status, detail) = json(app.get(&course_url("CSC%20201", ""), Some(&hod)).await).await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    assert_eq!(detail["state"], "draft");
    let line = detail["records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["matric_no"] == STUDENTS[1])
        .expect("the student's record")
        .clone();
    assert_eq!(
        (line["ca"].clone(), line["total"].clone()),
        (json!(25.5), json!(55.5))
    );
    problem(
        app.get(&course_url(csc, ""), Some(&student)).await,
        StatusCode::FORBIDDEN,
    )
    .await;

    // The wrong state and the wrong people are refused.
    problem(act(&app, &hod, csc, "approve").await, StatusCode::CONFLICT).await;
    expect_state(&app, &lecturer, csc, "submit", "submitted").await;
    problem(
        act(&app, &lecturer, csc, "approve").await,
        StatusCode::FORBIDDEN,
    )
    .await;
    problem(
        act(&app, &dean, csc, "approve").await,
        StatusCode::FORBIDDEN,
    )
    .await;
    // An HOD of another department is not HOD here.
    problem(
        act(&app, &mth_hod, csc, "approve").await,
        StatusCode::FORBIDDEN,
    )
    .await;
    problem(
        act(&app, &senate, csc, "publish").await,
        StatusCode::CONFLICT,
    )
    .await;

    // A return needs a reason; with one, it goes back to the lecturer.
    let body = problem(
        app.post_json(
            &course_url(csc, "return"),
            Some(&hod),
            &json!({ "reason": "  " }),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(
        body["detail"].as_str().unwrap().contains("reason"),
        "{body}"
    );
    let empty = app
        .request(
            reqwest::Method::POST,
            &course_url(csc, "return"),
            Some(&hod),
        )
        .send()
        .await
        .unwrap();
    problem(empty, StatusCode::UNPROCESSABLE_ENTITY).await;
    let reason = "Row 3: please confirm the CA of SCI/2021/0002";
    let (status, back) = json(
        app.post_json(
            &course_url(csc, "return"),
            Some(&hod),
            &json!({ "reason": reason }),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{back}");
    assert_eq!(
        (back["state"].as_str(), back["reason"].as_str()),
        (Some("returned"), Some(reason))
    );

    // Submitted again, it climbs every step; students see nothing until it is published.
    expect_state(&app, &lecturer, csc, "submit", "submitted").await;
    expect_state(&app, &hod, csc, "approve", "hod_approved").await;
    expect_state(&app, &dean, csc, "approve", "faculty_approved").await;
    expect_state(&app, &senate, csc, "approve", "senate_approved").await;
    assert!(course_codes(&results(&app, &student, STUDENTS[1]).await).is_empty());
    expect_state(&app, &senate, csc, "publish", "published").await;
    problem(
        act(&app, &senate, csc, "publish").await,
        StatusCode::CONFLICT,
    )
    .await;

    let after = results(&app, &student, STUDENTS[1]).await;
    assert_eq!(
        course_codes(&after),
        ["CSC 201"],
        "MTH 201 is not published yet: {after}"
    );
    assert_eq!(
        (CSC201.1, MTH201.1),
        (3, 2),
        "the units the GPAs were worked with"
    );
    assert_eq!(after["semesters"][0]["gpa"], GPA_CSC_ONLY[1], "{after}");

    // The second course through the same steps (its own HOD), then the GPA covers both.
    let mth = MTH201.0;
    expect_state(&app, &lecturer, mth, "submit", "submitted").await;
    problem(act(&app, &hod, mth, "approve").await, StatusCode::FORBIDDEN).await;
    expect_state(&app, &mth_hod, mth, "approve", "hod_approved").await;
    expect_state(&app, &dean, mth, "approve", "faculty_approved").await;
    expect_state(&app, &senate, mth, "approve", "senate_approved").await;
    expect_state(&app, &senate, mth, "publish", "published").await;

    for (i, m) in STUDENTS.into_iter().enumerate() {
        let token = app.login(m).await;
        let r = results(&app, &token, m).await;
        assert_eq!(course_codes(&r), ["CSC 201", "MTH 201"], "{r}");
        let want = GPA_BOTH[i];
        assert_eq!(r["semesters"][0]["gpa"], want, "{m}: {r}");
        assert_eq!(r["cgpa"], want, "{m}: one semester, so CGPA = GPA: {r}");
    }
}

#[tokio::test]
async fn course_addresses_are_checked() {
    let app = spawn_app().await;
    let hod = app.login(HOD).await;
    let body = problem(
        app.get("/api/v1/course-results/CSC201/2024-2026/first", Some(&hod))
            .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(body["errors"][0]["name"], "session", "{body}");
    let body = problem(
        app.get("/api/v1/course-results/C/2024-2025/third", Some(&hod))
            .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(body["errors"].as_array().map(Vec::len), Some(2), "{body}");
    problem(
        act(&app, &hod, "XYZ999", "approve").await,
        StatusCode::NOT_FOUND,
    )
    .await;
}
