//! Separation of duties in the approval workflow, over HTTP: nobody reviews a course result
//! they taught, uploaded a sheet for or submitted; the refusal names who can act instead, and
//! with `workflow.self_approval = "escalate"` (the default) the next reviewer up takes the
//! step, while with `"refuse"` it does not pass up.

mod common;

use common::courses::{act, course_url, moves_to, upload_processed};
use common::university::{CSC201, DEAN, HOD, LECTURER, SENATE};
use common::{problem, spawn_app, spawn_app_with, TestApp};
use eportal::config::SelfApproval;
use eportal_core::model::{Allocation, UserAccount};
use eportal_core::{AcademicSession, CourseCode, Role, Semester};
use reqwest::StatusCode;
use serde_json::json;

/// Allocates `staff_id` to teach CSC 201 alongside the lecturer.
async fn also_teaches_csc201(app: &TestApp, staff_id: &str) {
    app.running
        .services
        .ports
        .store
        .upsert_allocations(&[Allocation {
            course_code: CourseCode::parse(CSC201.0).unwrap(),
            session: AcademicSession::new(2024).unwrap(),
            semester: Semester::First,
            staff_id: staff_id.into(),
        }])
        .await
        .expect("allocate a second teacher");
}

async fn hod_teaches_csc201(app: &TestApp) {
    also_teaches_csc201(app, HOD).await;
}

#[tokio::test]
async fn a_dean_who_taught_the_course_is_refused_and_senate_takes_the_step() {
    let app = spawn_app().await;
    also_teaches_csc201(&app, DEAN).await;
    let lecturer = app.login(LECTURER).await;
    let hod = app.login(HOD).await;
    let dean = app.login(DEAN).await;
    let senate = app.login(SENATE).await;
    let csc = CSC201.0;
    upload_processed(&app, &lecturer, csc).await;
    moves_to(&app, &lecturer, csc, "submit", "submitted").await;
    moves_to(&app, &hod, csc, "approve", "hod_approved").await;
    let body = problem(
        act(&app, &dean, csc, "approve").await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert_eq!(
        body["detail"],
        "you taught CSC 201 in 2024/2025 first semester, so you cannot approve it; senate (S001) can"
    );
    moves_to(&app, &senate, csc, "approve", "faculty_approved").await;
    moves_to(&app, &senate, csc, "approve", "senate_approved").await;
    moves_to(&app, &senate, csc, "publish", "published").await;
}

#[tokio::test]
async fn a_reviewer_who_taught_the_course_is_refused_and_the_dean_takes_the_step() {
    let app = spawn_app().await;
    hod_teaches_csc201(&app).await;
    let hod = app.login(HOD).await;
    let dean = app.login(DEAN).await;
    let senate = app.login(SENATE).await;
    let csc = CSC201.0;

    // The HOD, allocated, uploads and submits the sheet themself.
    upload_processed(&app, &hod, csc).await;
    moves_to(&app, &hod, csc, "submit", "submitted").await;

    let body = problem(act(&app, &hod, csc, "approve").await, StatusCode::FORBIDDEN).await;
    assert_eq!(
        body["detail"],
        "you taught CSC 201 in 2024/2025 first semester, so you cannot approve it; the dean of the Faculty of Science (D001) can"
    );
    // Returning it is a review step too.
    let body = problem(
        app.post_json(
            &course_url(csc, "return"),
            Some(&hod),
            &json!({"reason": "fix row 2"}),
        )
        .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("so you cannot return it; the dean of the Faculty of Science (D001) can"),
        "{body}"
    );
    // Senate is further up: the step is the dean's, not theirs.
    problem(
        act(&app, &senate, csc, "approve").await,
        StatusCode::FORBIDDEN,
    )
    .await;

    // The dean takes the HOD's step, then their own; the chain goes on as usual.
    moves_to(&app, &dean, csc, "approve", "hod_approved").await;
    moves_to(&app, &dean, csc, "approve", "faculty_approved").await;
    moves_to(&app, &senate, csc, "approve", "senate_approved").await;
    moves_to(&app, &senate, csc, "publish", "published").await;
}

#[tokio::test]
async fn in_refuse_mode_the_step_does_not_pass_up() {
    let app = spawn_app_with(|c| c.workflow.self_approval = SelfApproval::Refuse).await;
    hod_teaches_csc201(&app).await;
    let hod = app.login(HOD).await;
    let dean = app.login(DEAN).await;
    let csc = CSC201.0;
    upload_processed(&app, &hod, csc).await;
    moves_to(&app, &hod, csc, "submit", "submitted").await;
    let body = problem(act(&app, &hod, csc, "approve").await, StatusCode::FORBIDDEN).await;
    assert_eq!(
        body["detail"],
        "you taught CSC 201 in 2024/2025 first semester, so you cannot approve it; no other reviewer without a hand in it is recorded for the HOD of Computer Science; the registry must appoint one"
    );
    // Without escalation the dean's role does not reach the HOD's step.
    let body = problem(
        act(&app, &dean, csc, "approve").await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert!(
        body["detail"].as_str().unwrap().starts_with("only the HOD"),
        "{body}"
    );
}

#[tokio::test]
async fn a_registrar_who_uploaded_the_sheet_cannot_approve_it_as_senate() {
    let app = spawn_app().await;
    // The registrar's account is both registry administrator (who may upload any sheet) and
    // senate.
    let hash = tokio::task::spawn_blocking(|| {
        eportal::services::auth::hash_password_blocking(common::PASSWORD)
    })
    .await
    .unwrap();
    app.running
        .services
        .ports
        .store
        .upsert_users(&[UserAccount {
            username: "R001".into(),
            password_hash: hash,
            display_name: "Registrar".into(),
            roles: vec![Role::Admin, Role::Senate],
        }])
        .await
        .unwrap();
    let registrar = app.login("R001").await;
    let lecturer = app.login(LECTURER).await;
    let hod = app.login(HOD).await;
    let dean = app.login(DEAN).await;
    let senate = app.login(SENATE).await;
    let csc = CSC201.0;
    upload_processed(&app, &registrar, csc).await;
    moves_to(&app, &lecturer, csc, "submit", "submitted").await;
    moves_to(&app, &hod, csc, "approve", "hod_approved").await;
    moves_to(&app, &dean, csc, "approve", "faculty_approved").await;
    let body = problem(
        act(&app, &registrar, csc, "approve").await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert_eq!(
        body["detail"],
        "you uploaded a score sheet for CSC 201 in 2024/2025 first semester, so you cannot approve it; senate (S001) can"
    );
    moves_to(&app, &senate, csc, "approve", "senate_approved").await;
    problem(
        act(&app, &registrar, csc, "publish").await,
        StatusCode::FORBIDDEN,
    )
    .await;
    moves_to(&app, &senate, csc, "publish", "published").await;
}
