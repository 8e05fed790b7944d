//! Revocable sessions over HTTP: a token stops working on sign-out, after a password change,
//! after a change of roles (a staff re-import) and when the registry administrator ends the
//! account's sessions; a new sign-in works each time. The session-version cache is made long
//! here, so every refusal below proves the change reached it at once, not by expiry.

mod common;

use common::university::{ADMIN, HOD, LECTURER, OTHER_LECTURER, SENATE, STUDENTS};
use common::{json, path_matric, problem, spawn_app_with, TestApp, PASSWORD};
use eportal::services::import::ImportKind;
use reqwest::StatusCode;
use serde_json::json;

async fn app() -> TestApp {
    spawn_app_with(|c| c.auth.session_check_cache_secs = 3600).await
}

async fn me_status(app: &TestApp, token: &str) -> StatusCode {
    app.get("/api/v1/me", Some(token)).await.status()
}

/// The token is refused with the words a person reads when their session has ended.
async fn assert_ended(app: &TestApp, token: &str, why: &str) {
    let body = problem(
        app.get("/api/v1/me", Some(token)).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert_eq!(
        body["detail"],
        "this session has ended (signed out, password or roles changed, or ended by the registry); sign in again",
        "{why}"
    );
}

async fn sign_in(app: &TestApp, username: &str, password: &str) -> reqwest::Response {
    app.post_json(
        "/api/v1/auth/login",
        None,
        &json!({ "username": username, "password": password }),
    )
    .await
}

#[tokio::test]
async fn sign_out_ends_every_session_of_the_account_and_a_new_sign_in_works() {
    let app = app().await;
    let phone = app.login(STUDENTS[0]).await;
    let laptop = app.login(STUDENTS[0]).await;
    let someone_else = app.login(STUDENTS[1]).await;
    for t in [&phone, &laptop, &someone_else] {
        assert_eq!(me_status(&app, t).await, StatusCode::OK);
    }

    let res = app
        .post_json("/api/v1/auth/logout", Some(&laptop), &json!({}))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);

    assert_ended(&app, &laptop, "the token that signed out").await;
    assert_ended(&app, &phone, "another device of the same account").await;
    // The results route refuses it too (every route that takes a principal checks).
    let res = app
        .get(
            &format!("/api/v1/students/{}/results", path_matric(STUDENTS[0])),
            Some(&phone),
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    // Signing out again with a dead token is refused, not an error.
    let res = app
        .post_json("/api/v1/auth/logout", Some(&laptop), &json!({}))
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    assert_eq!(me_status(&app, &someone_else).await, StatusCode::OK);
    let again = app.login(STUDENTS[0]).await;
    assert_eq!(me_status(&app, &again).await, StatusCode::OK);
}

#[tokio::test]
async fn a_password_change_ends_other_sessions_and_returns_a_new_one() {
    let app = app().await;
    let here = app.login(LECTURER).await;
    let elsewhere = app.login(LECTURER).await;
    let url = "/api/v1/auth/password";

    let body = problem(
        app.post_json(
            url,
            Some(&here),
            &json!({ "current_password": PASSWORD, "new_password": "short" }),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        body["detail"],
        "new_password: choose a password of at least 8 characters (and at most 1024 bytes)"
    );
    let body = problem(
        app.post_json(
            url,
            Some(&here),
            &json!({ "current_password": "a guess", "new_password": "a brand new secret" }),
        )
        .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert_eq!(
        body["detail"],
        "current_password: that is not your current password"
    );
    // Neither refusal ended anything.
    assert_eq!(me_status(&app, &elsewhere).await, StatusCode::OK);

    let (status, session) = json(
        app.post_json(
            url,
            Some(&here),
            &json!({ "current_password": PASSWORD, "new_password": "a brand new secret" }),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{session}");
    assert_eq!(session["username"], LECTURER);
    let fresh = session["token"].as_str().expect("a new token").to_string();

    assert_ended(&app, &elsewhere, "another session after a password change").await;
    assert_ended(&app, &here, "the old token of this client").await;
    assert_eq!(me_status(&app, &fresh).await, StatusCode::OK);

    assert_eq!(
        sign_in(&app, LECTURER, PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED,
        "the old password no longer signs in"
    );
    let (status, body) = json(sign_in(&app, LECTURER, "a brand new secret").await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn a_change_of_roles_by_import_ends_the_sessions_and_no_change_keeps_them() {
    let app = app().await;
    let hod = app.login(HOD).await;
    let lecturer = app.login(OTHER_LECTURER).await;
    let (_, me) = json(app.get("/api/v1/me", Some(&hod)).await).await;
    assert_eq!(me["roles"], json!(["lecturer", "hod"]));
    assert_eq!(me_status(&app, &lecturer).await, StatusCode::OK);

    // The registry re-imports staff: the HOD steps down; the other lecturer is unchanged
    // (roles written differently, no password column).
    let csv = format!(
        "staff_id,name,department,roles\n\
         {HOD},Prof. CSC Head,CSC,lecturer\n\
         {OTHER_LECTURER},Dr. Lecturer Two,CSC,Lecturer\n"
    );
    let report = app
        .running
        .services
        .import(ImportKind::Staff, csv.as_bytes())
        .await
        .expect("the staff file imports");
    assert_eq!((report.imported, report.accounts), (2, 2), "{report:?}");

    assert_ended(&app, &hod, "a token signed with the old roles").await;
    assert_eq!(
        me_status(&app, &lecturer).await,
        StatusCode::OK,
        "an account whose roles did not change keeps its sessions"
    );
    let again = app.login(HOD).await;
    let (_, me) = json(app.get("/api/v1/me", Some(&again)).await).await;
    assert_eq!(me["roles"], json!(["lecturer"]));
}

#[tokio::test]
async fn the_registry_administrator_ends_someone_elses_sessions() {
    let app = app().await;
    let student = app.login(STUDENTS[0]).await;
    let admin = app.login(ADMIN).await;
    let senate = app.login(SENATE).await;
    let url = format!(
        "/api/v1/users/{}/revoke-sessions",
        path_matric(&STUDENTS[0].to_lowercase())
    );

    let body = problem(
        app.post_json(&url, Some(&senate), &json!({})).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert_eq!(
        body["detail"],
        "only the registry administrator may end another person's sessions"
    );
    let body = problem(
        app.post_json(
            "/api/v1/users/NOBODY99/revoke-sessions",
            Some(&admin),
            &json!({}),
        )
        .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_eq!(body["detail"], "no account is named 'NOBODY99'");
    assert_eq!(me_status(&app, &student).await, StatusCode::OK);

    let (status, body) = json(app.post_json(&url, Some(&admin), &json!({})).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["username"], STUDENTS[0]);
    assert_eq!(
        body["session_version"], 1,
        "the first end of this account's sessions"
    );

    assert_ended(&app, &student, "a token whose sessions the registry ended").await;
    assert_eq!(me_status(&app, &admin).await, StatusCode::OK);
    assert_eq!(me_status(&app, &senate).await, StatusCode::OK);
    let again = app.login(STUDENTS[0]).await;
    assert_eq!(me_status(&app, &again).await, StatusCode::OK);
}
