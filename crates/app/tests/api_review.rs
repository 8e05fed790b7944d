//! The reviewers' queue over HTTP: each HOD, dean and senate member sees the course results
//! waiting for them and no others, as a result moves up the chain; a result a reviewer had a
//! hand in is in the next reviewer's queue instead; the grade distribution and pass rate are
//! worked out here by hand from the sheet's rows, never by the service's own functions.

mod common;

use common::courses::{moves_to, upload_processed};
use common::university::{
    ADMIN, ARTS_DEAN, CSC201, DEAN, HOD, LECTURER, MTH201, MTH_HOD, SENATE, STUDENTS,
};
use common::{json, problem, spawn_app, TestApp};
use eportal_core::model::Allocation;
use eportal_core::{AcademicSession, CourseCode, Semester};
use reqwest::StatusCode;
use serde_json::Value;

const QUEUE: &str = "/api/v1/me/review-queue";

/// A second sheet for CSC 201 (after `common::courses::sheet`), under the default policy
/// (totals rounded half up; A 70+, B 60+, C 50+, D 45+, E 40+, F below; pass mark 40):
///
/// | student | CA + exam | total | grade | passed |
/// |---|---|---|---|---|
/// | 0 | 30 + 45 | 75 | A | yes |
/// | 1 | 28 + 34.5 | 62.5 → 63 | B | yes |
/// | 2 | 12 + 27 | 39 | F | no |
///
/// so the distribution is A 1, B 1, C 0, D 0, E 0, F 1 and the pass rate 2/3 = 66.7 %.
fn second_sheet() -> String {
    format!(
        "Matric No,CA,Exam\n{},30,45\n{},28,34.5\n{},12,27\n",
        STUDENTS[0], STUDENTS[1], STUDENTS[2]
    )
}

async fn queue(app: &TestApp, token: &str) -> Vec<Value> {
    let (status, body) = json(app.get(QUEUE, Some(token)).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["items"].as_array().expect("items").clone()
}

/// The course codes in a queue, with the state and the next action of each.
async fn listed(app: &TestApp, token: &str) -> Vec<(String, String, String)> {
    queue(app, token)
        .await
        .iter()
        .map(|i| {
            (
                i["term"]["course_code"].as_str().unwrap().to_string(),
                i["state"].as_str().unwrap().to_string(),
                i["action"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn one(code: &str, state: &str, action: &str) -> Vec<(String, String, String)> {
    vec![(code.into(), state.into(), action.into())]
}

#[tokio::test]
async fn each_reviewer_sees_what_waits_for_them_as_a_result_moves_up() {
    let app = spawn_app().await;
    let lecturer = app.login(LECTURER).await;
    let hod = app.login(HOD).await;
    let mth_hod = app.login(MTH_HOD).await;
    let dean = app.login(DEAN).await;
    let arts_dean = app.login(ARTS_DEAN).await;
    let senate = app.login(SENATE).await;

    upload_processed(&app, &lecturer, CSC201.0).await;
    let (status, body) = app.upload_csv(&lecturer, CSC201.0, &second_sheet()).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let done = app
        .wait_processed(&lecturer, body["id"].as_i64().unwrap())
        .await;
    assert_eq!(done["status"], "processed", "{done}");
    upload_processed(&app, &lecturer, MTH201.0).await;

    // Nothing is submitted yet: every queue is empty.
    for token in [&hod, &mth_hod, &dean, &senate] {
        assert!(queue(&app, token).await.is_empty());
    }
    moves_to(&app, &lecturer, CSC201.0, "submit", "submitted").await;
    moves_to(&app, &lecturer, MTH201.0, "submit", "submitted").await;

    // Each HOD sees their own department's result only.
    let items = queue(&app, &hod).await;
    assert_eq!(items.len(), 1, "{items:?}");
    let csc = &items[0];
    assert_eq!(csc["term"]["course_code"], "CSC 201");
    assert_eq!(csc["course_title"], "Data Structures");
    assert_eq!(csc["state"], "submitted");
    assert_eq!(csc["action"], "approve");
    assert_eq!(csc["lecturers"][0]["staff_id"], LECTURER);
    assert_eq!(csc["lecturers"][0]["name"], "Dr. Lecturer One");
    assert_eq!(csc["students"], 3);
    let distribution: Vec<(String, u64)> = csc["distribution"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["grade"].as_str().unwrap().into(),
                g["count"].as_u64().unwrap(),
            )
        })
        .collect();
    let expected: Vec<(String, u64)> = [("A", 1), ("B", 1), ("C", 0), ("D", 0), ("E", 0), ("F", 1)]
        .map(|(g, n)| (g.to_string(), n))
        .to_vec();
    assert_eq!(distribution, expected);
    assert_eq!(csc["passed"], 2);
    assert_eq!(csc["pass_rate_percent"], 66.7);
    // Two sheets: the first was superseded by the second, which is the current one.
    assert_eq!(csc["sheet_history"]["sheets"], 2);
    assert_eq!(csc["sheet_history"]["latest_status"], "processed");
    assert_eq!(
        listed(&app, &mth_hod).await,
        one("MTH 201", "submitted", "approve")
    );
    // The dean and senate have nothing until the HODs approve; another faculty's dean never.
    assert!(queue(&app, &dean).await.is_empty());
    assert!(queue(&app, &senate).await.is_empty());

    moves_to(&app, &hod, CSC201.0, "approve", "hod_approved").await;
    assert!(queue(&app, &hod).await.is_empty());
    assert_eq!(
        listed(&app, &dean).await,
        one("CSC 201", "hod_approved", "approve")
    );
    assert!(queue(&app, &arts_dean).await.is_empty());

    moves_to(&app, &dean, CSC201.0, "approve", "faculty_approved").await;
    assert!(queue(&app, &dean).await.is_empty());
    assert_eq!(
        listed(&app, &senate).await,
        one("CSC 201", "faculty_approved", "approve")
    );
    moves_to(&app, &senate, CSC201.0, "approve", "senate_approved").await;
    assert_eq!(
        listed(&app, &senate).await,
        one("CSC 201", "senate_approved", "publish")
    );
    moves_to(&app, &senate, CSC201.0, "publish", "published").await;
    assert!(queue(&app, &senate).await.is_empty());
    // MTH 201 still waits for its HOD, untouched by all this.
    assert_eq!(
        listed(&app, &mth_hod).await,
        one("MTH 201", "submitted", "approve")
    );
    assert!(queue(&app, &arts_dean).await.is_empty());
}

#[tokio::test]
async fn a_result_the_hod_taught_is_in_the_deans_queue_instead() {
    let app = spawn_app().await;
    app.running
        .services
        .ports
        .store
        .upsert_allocations(&[Allocation {
            course_code: CourseCode::parse(CSC201.0).unwrap(),
            session: AcademicSession::new(2024).unwrap(),
            semester: Semester::First,
            staff_id: HOD.into(),
        }])
        .await
        .expect("allocate the HOD too");
    let hod = app.login(HOD).await;
    let dean = app.login(DEAN).await;
    upload_processed(&app, &hod, CSC201.0).await;
    moves_to(&app, &hod, CSC201.0, "submit", "submitted").await;

    assert!(queue(&app, &hod).await.is_empty());
    assert_eq!(
        listed(&app, &dean).await,
        one("CSC 201", "submitted", "approve")
    );
    // The queue says what acting says: the dean may take the step.
    moves_to(&app, &dean, CSC201.0, "approve", "hod_approved").await;
}

#[tokio::test]
async fn only_reviewers_have_a_queue() {
    let app = spawn_app().await;
    for who in [STUDENTS[0], LECTURER, ADMIN] {
        let token = app.login(who).await;
        let body = problem(app.get(QUEUE, Some(&token)).await, StatusCode::FORBIDDEN).await;
        assert_eq!(
            body["detail"], "only HODs, deans and senate have a review queue",
            "{who}"
        );
    }
    problem(app.get(QUEUE, None).await, StatusCode::UNAUTHORIZED).await;
}
