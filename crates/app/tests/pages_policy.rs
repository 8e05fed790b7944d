//! A grading policy through the registry's import page: a policy for a cohort becomes the
//! next policy version (at once here, with no scores to grade again), the report says so, and
//! the registry's page shows the version and the regrade; a scope a person mistyped is refused
//! with a sentence that says how to write it, and nothing changes.

mod browser;
mod common;

use browser::{Browser, Page};
use common::university::ADMIN;
use common::{spawn_app, TestApp, PASSWORD};
use reqwest::StatusCode;

const POLICY: &str = include_str!("fixtures/import/policy.toml");
const INSTITUTION: &str = include_str!("fixtures/import/institution.toml");

/// The administrator, signed in, with the institution imported (a policy needs it).
async fn admin(app: &TestApp) -> Browser {
    let mut b = Browser::new(&app.base);
    let res = b.sign_in(ADMIN, PASSWORD).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let form = b.get("/registry/imports").await;
    let csrf = form.csrf();
    let report = b
        .post_multipart(
            "/registry/imports",
            &[("csrf", csrf.as_str()), ("kind", "institution")],
            (
                "file",
                "institution.toml",
                "application/toml",
                INSTITUTION.as_bytes().to_vec(),
            ),
        )
        .await;
    assert_eq!(report.status, StatusCode::OK, "{}", report.body);
    b
}

/// Sends the import form as the page's browser would, with the scope field.
async fn import_policy(b: &mut Browser, scope: &str) -> Page {
    let form = b.get("/registry/imports").await;
    assert!(
        form.body.contains("id=\"scope\""),
        "the form asks whom a policy is for"
    );
    let csrf = form.csrf();
    b.post_multipart(
        "/registry/imports",
        &[
            ("csrf", csrf.as_str()),
            ("kind", "policy"),
            ("scope", scope),
        ],
        (
            "file",
            "policy.toml",
            "application/toml",
            POLICY.as_bytes().to_vec(),
        ),
    )
    .await
}

#[tokio::test]
async fn a_cohorts_policy_imported_on_the_page_becomes_the_next_version() {
    let app = spawn_app().await;
    let store = &app.running.services.ports.store;
    let mut b = admin(&app).await;
    let before = store.active_policy_version().await.unwrap();
    let default_before = store.active_policy().await.unwrap().unwrap().default;

    let report = import_policy(&mut b, "cohort:2025/2026").await;
    assert_eq!(report.status, StatusCode::OK, "{}", report.body);
    let next = before + 1;
    assert!(
        report.body.contains(&format!(
            "Grading policy version {next} is active: there were no scores to grade again."
        )),
        "{}",
        report.body
    );
    assert_eq!(store.active_policy_version().await.unwrap(), next);
    let book = store.active_policy().await.unwrap().unwrap();
    assert_eq!(book.cohorts.len(), 1);
    assert_eq!(book.cohorts[0].from.to_string(), "2025/2026");
    assert_eq!(book.cohorts[0].policy.name, "5-point scale without E");
    assert_eq!(book.default, default_before, "the default is kept");

    let overview = b.get("/registry").await;
    assert_eq!(overview.status, StatusCode::OK);
    assert!(
        overview
            .body
            .contains(&format!("graded under grading policy version {next}")),
        "{}",
        overview.body
    );
    assert!(
        overview.body.contains("id=\"regrade-"),
        "the regrade is listed"
    );
}

#[tokio::test]
async fn a_mistyped_scope_is_refused_with_how_to_write_it() {
    let app = spawn_app().await;
    let store = &app.running.services.ports.store;
    let mut b = admin(&app).await;
    let before = store.active_policy_version().await.unwrap();
    let regrades_before = store.regrades(10).await.unwrap();

    let page = import_policy(&mut b, "year:2025/2026").await;
    assert_eq!(
        page.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        page.body
    );
    assert!(
        page.body.contains("Whom the policy is for: scope kind")
            && page.body.contains("is not cohort or results"),
        "{}",
        page.body
    );
    let page = import_policy(&mut b, "cohort:2025/2027").await;
    assert_eq!(
        page.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        page.body
    );
    assert!(
        page.body.contains("should span two consecutive years"),
        "{}",
        page.body
    );
    assert_eq!(
        store.active_policy_version().await.unwrap(),
        before,
        "nothing changed"
    );
    assert_eq!(store.regrades(10).await.unwrap(), regrades_before);
}
