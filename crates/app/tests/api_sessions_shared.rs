//! Sessions and sign-in locks across two portals of one distributed deployment (PostgreSQL,
//! RabbitMQ, Redis — the test's own database, namespace and key prefix): a sign-out, a
//! password change and an administrator's revoke on one portal end the token on the other at
//! once, although the other had just checked (and cached) it; a change of roles written by a
//! re-import on one portal does too.

mod common;
#[allow(dead_code)] // the cluster tests' helpers; this file uses the isolation only
#[path = "support/engines.rs"]
mod engines;

use common::university::{ADMIN, HOD, LECTURER, STUDENTS};
use common::{path_matric, problem, spawn_app_with, TestApp, PASSWORD};
use eportal::services::import::ImportKind;
use reqwest::StatusCode;
use serde_json::json;

async fn two_portals(iso: &engines::Isolation) -> (TestApp, TestApp) {
    let shared = |c: &mut eportal::Config| {
        c.database_url = iso.database_url.clone();
        c.queue_url = engines::amqp_url();
        c.queue_namespace = iso.queue_namespace.clone();
        c.cache_url = engines::redis_url();
        c.cache_prefix = iso.cache_prefix.clone();
        // Long, so only the invalidation can make the other portal notice.
        c.auth.session_check_cache_secs = 3600;
    };
    (spawn_app_with(shared).await, spawn_app_with(shared).await)
}

async fn me(app: &TestApp, token: &str) -> StatusCode {
    app.get("/api/v1/me", Some(token)).await.status()
}

async fn assert_ended(app: &TestApp, token: &str, why: &str) {
    let body = problem(
        app.get("/api/v1/me", Some(token)).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .starts_with("this session has ended"),
        "{why}: {body}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_session_ended_on_one_portal_is_ended_on_the_other_at_once() {
    let iso = engines::Isolation::create("sessions", &engines::amqp_url()).await;
    let (a, b) = two_portals(&iso).await;

    // Sign-out on A; B had just accepted the token.
    let student = a.login(STUDENTS[0]).await;
    assert_eq!(me(&b, &student).await, StatusCode::OK);
    let res = a
        .post_json("/api/v1/auth/logout", Some(&student), &json!({}))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_ended(&b, &student, "signed out on the other portal").await;

    // Password change on B; A had just accepted the old token.
    let lecturer = b.login(LECTURER).await;
    assert_eq!(me(&a, &lecturer).await, StatusCode::OK);
    let res = b
        .post_json(
            "/api/v1/auth/password",
            Some(&lecturer),
            &json!({ "current_password": PASSWORD, "new_password": "another long secret" }),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_ended(&a, &lecturer, "password changed on the other portal").await;

    // The administrator on A ends a student's sessions; B refuses the student at once.
    let other = b.login(STUDENTS[1]).await;
    assert_eq!(me(&b, &other).await, StatusCode::OK);
    let admin = a.login(ADMIN).await;
    let url = format!("/api/v1/users/{}/revoke-sessions", path_matric(STUDENTS[1]));
    assert_eq!(
        a.post_json(&url, Some(&admin), &json!({})).await.status(),
        StatusCode::OK
    );
    assert_ended(&b, &other, "revoked on the other portal").await;

    // A re-import through A's services takes the HOD's role away; B refuses the old token.
    let hod = b.login(HOD).await;
    assert_eq!(me(&b, &hod).await, StatusCode::OK);
    let csv = format!("staff_id,name,department,roles\n{HOD},Prof. CSC Head,CSC,lecturer\n");
    a.running
        .services
        .import(ImportKind::Staff, csv.as_bytes())
        .await
        .expect("the staff file imports");
    assert_ended(&b, &hod, "roles changed through the other portal").await;

    // Everyone signs in again, on either portal.
    for (app, user) in [(&a, STUDENTS[0]), (&b, STUDENTS[1]), (&a, HOD)] {
        let t = app.login(user).await;
        assert_eq!(me(&b, &t).await, StatusCode::OK, "{user}");
    }
}
