//! The registry's side of accounts over HTTP: an account created by import, or whose
//! password the administrator reset, signs in but must change its password before any route
//! but `/api/v1/me`, the password change and sign-out answers; the administrator alone may
//! reset a password, with one they give or a generated one shown once. (The registry's views
//! of sheets and jobs are tested in api_registry_views.rs.)

mod common;

use common::university::{ADMIN, HOD, LECTURER, SENATE, STUDENTS};
use common::{json, path_matric, problem, spawn_app, TestApp, PASSWORD};
use eportal::services::import::ImportKind;
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn sign_in(app: &TestApp, username: &str, password: &str) -> Value {
    let res = app
        .post_json(
            "/api/v1/auth/login",
            None,
            &json!({ "username": username, "password": password }),
        )
        .await;
    let (status, body) = json(res).await;
    assert_eq!(status, StatusCode::OK, "sign-in of {username}: {body}");
    body
}

async fn refused_until_changed(app: &TestApp, token: &str, url: &str) {
    let body = problem(app.get(url, Some(token)).await, StatusCode::FORBIDDEN).await;
    assert!(
        body["type"]
            .as_str()
            .unwrap()
            .ends_with("password-change-required"),
        "{body}"
    );
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .starts_with("change your password first"),
        "{body}"
    );
}

async fn change(app: &TestApp, token: &str, current: &str, new: &str) -> Value {
    let res = app
        .post_json(
            "/api/v1/auth/password",
            Some(token),
            &json!({ "current_password": current, "new_password": new }),
        )
        .await;
    let (status, body) = json(res).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

async fn me(app: &TestApp, token: &str) -> Value {
    let (status, body) = json(app.get("/api/v1/me", Some(token)).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

#[tokio::test]
async fn an_imported_account_changes_its_password_at_first_sign_in() {
    let app = spawn_app().await;
    let file = "staff_id,name,department,roles,password\nR001,Mrs Registry Officer,CSC,admin,given-by-registry\n";
    let report = app
        .running
        .services
        .import(ImportKind::Staff, file.as_bytes())
        .await
        .expect("import");
    assert_eq!(report.accounts, 1);

    let session = sign_in(&app, "R001", "given-by-registry").await;
    assert_eq!(session["password_change_required"], true, "{session}");
    let token = session["token"].as_str().unwrap();
    assert_eq!(me(&app, token).await["password_change_required"], true);
    // Even a route the account's role opens is closed until the password is changed.
    refused_until_changed(&app, token, "/api/v1/students").await;
    refused_until_changed(&app, token, "/api/v1/me/review-queue").await;
    refused_until_changed(&app, token, "/api/v1/admin/sheets").await;

    let renewed = change(&app, token, "given-by-registry", "only-i-know-this").await;
    assert_eq!(renewed["password_change_required"], false, "{renewed}");
    let token = renewed["token"].as_str().unwrap();
    let (status, body) = json(app.get("/api/v1/students", Some(token)).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(me(&app, token).await["password_change_required"], false);

    // Importing the account again (unchanged: a row without a password keeps the holder's
    // own) does not force a change again.
    let again = "staff_id,name,department,roles\nR001,Mrs Registry Officer,CSC,admin\n";
    app.running
        .services
        .import(ImportKind::Staff, again.as_bytes())
        .await
        .expect("re-import");
    let later = sign_in(&app, "R001", "only-i-know-this").await;
    assert_eq!(later["password_change_required"], false, "{later}");
}

#[tokio::test]
async fn seeded_accounts_are_not_forced() {
    let app = spawn_app().await;
    let session = sign_in(&app, LECTURER, PASSWORD).await;
    assert_eq!(session["password_change_required"], false, "{session}");
}

#[tokio::test]
async fn an_administrators_reset_ends_the_sessions_and_forces_a_change() {
    let app = spawn_app().await;
    let admin = app.login(ADMIN).await;
    let student = app.login(STUDENTS[0]).await;
    let results = format!("/api/v1/students/{}/results", path_matric(STUDENTS[0]));

    let res = app
        .post_json(
            &format!("/api/v1/users/{}/password", path_matric(STUDENTS[0])),
            Some(&admin),
            &json!({ "new_password": "temporary-123" }),
        )
        .await;
    let (status, body) = json(res).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["username"], STUDENTS[0]);
    assert_eq!(body["password_change_required"], true);
    assert!(body.get("temporary_password").is_none(), "{body}");

    // The student's old session has ended; the old password no longer works.
    problem(
        app.get(&results, Some(&student)).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    let res = app
        .post_json(
            "/api/v1/auth/login",
            None,
            &json!({ "username": STUDENTS[0], "password": PASSWORD }),
        )
        .await;
    problem(res, StatusCode::UNAUTHORIZED).await;

    let session = sign_in(&app, STUDENTS[0], "temporary-123").await;
    assert_eq!(session["password_change_required"], true);
    let token = session["token"].as_str().unwrap();
    refused_until_changed(&app, token, &results).await;
    let renewed = change(&app, token, "temporary-123", "my-own-password").await;
    let token = renewed["token"].as_str().unwrap();
    let (status, body) = json(app.get(&results, Some(token)).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // Signing out is allowed while forced, too.
    let forced = {
        let res = app
            .post_json(
                &format!("/api/v1/users/{LECTURER}/password"),
                Some(&admin),
                &json!({}),
            )
            .await;
        let (status, body) = json(res).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let temporary = body["temporary_password"]
            .as_str()
            .expect("generated")
            .to_string();
        assert!(temporary.len() >= 12, "{temporary}");
        sign_in(&app, LECTURER, &temporary).await
    };
    let token = forced["token"].as_str().unwrap();
    assert_eq!(forced["password_change_required"], true);
    // Uploading a sheet is refused too, before anything is stored.
    let (status, body) = app
        .upload_csv(token, "CSC201", &common::courses::sheet())
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(
        body["type"]
            .as_str()
            .unwrap()
            .ends_with("password-change-required"),
        "{body}"
    );
    let (_, sheets) = json(app.get("/api/v1/admin/sheets", Some(&admin)).await).await;
    assert_eq!(sheets["total"], 0, "{sheets}");
    let res = app
        .post_json("/api/v1/auth/logout", Some(token), &json!({}))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn only_the_administrator_resets_passwords() {
    let app = spawn_app().await;
    for who in [HOD, SENATE, STUDENTS[1]] {
        let token = app.login(who).await;
        let res = app
            .post_json(
                &format!("/api/v1/users/{LECTURER}/password"),
                Some(&token),
                &json!({ "new_password": "temporary-123" }),
            )
            .await;
        let body = problem(res, StatusCode::FORBIDDEN).await;
        assert_eq!(
            body["detail"], "only the registry administrator may reset another person's password",
            "{who}"
        );
    }
    // The lecturer's password is untouched.
    sign_in(&app, LECTURER, PASSWORD).await;

    let admin = app.login(ADMIN).await;
    let res = app
        .post_json(
            "/api/v1/users/NOBODY/password",
            Some(&admin),
            &json!({ "new_password": "temporary-123" }),
        )
        .await;
    problem(res, StatusCode::NOT_FOUND).await;
    let res = app
        .post_json(
            &format!("/api/v1/users/{LECTURER}/password"),
            Some(&admin),
            &json!({ "new_password": "short" }),
        )
        .await;
    problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
}
