//! Signing in through the pages, in headless Chromium: a student on a phone-sized window signs
//! in at /login (a form with `username`, `password` and a submit button) and reads their
//! published result on /results; a wrong password is told on the sign-in page; a signed-out
//! visitor to /results is sent to /login; a student changes their password at
//! /account/password, signs out with the header's button and signs in with the new one only.
//! Screenshots of every page visited are saved under
//! target/browser-screenshots/<test>/.
//!
//! Written against the pages' contract (issue 7): run with
//! `cargo test -p eportal --test browser_sign_in` (needs `./scripts/browser`).

mod common;
mod webdriver;

use common::courses::{moves_to, upload_processed};
use common::university::{CSC201, DEAN, HOD, LECTURER, SENATE, STUDENTS};
use common::{spawn_app, TestApp, PASSWORD};
use webdriver::{Browser, Window};

/// The sign-in form: the form with the password field (the page may hold others).
const SIGN_IN_FORM: &str = "form:has(input[name=\"password\"])";

/// CSC 201 for 2024/2025 first semester, uploaded (common::courses::sheet) and published.
/// Student 0 has CA 30 and exam 45: 75, an A worth 5 points; a GPA of 5.00 on 3 units
/// (worked out by hand from the default grading policy).
async fn publish_csc201(app: &TestApp) {
    let code = CSC201.0;
    let lecturer = app.login(LECTURER).await;
    upload_processed(app, &lecturer, code).await;
    moves_to(app, &lecturer, code, "submit", "submitted").await;
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

#[tokio::test]
async fn a_student_signs_in_on_a_phone_and_reads_their_result() {
    let app = spawn_app().await;
    publish_csc201(&app).await;
    let mut b = Browser::start("student_phone_sign_in", Window::Phone).await;

    b.goto(&app.url("/login")).await;
    b.screenshot("sign-in").await;
    let password = b
        .find(&format!("{SIGN_IN_FORM} input[name=\"password\"]"))
        .await;
    assert_eq!(
        b.attribute(&password, "type").await.as_deref(),
        Some("password")
    );
    b.fill_and_submit(
        SIGN_IN_FORM,
        &[("username", STUDENTS[0]), ("password", PASSWORD)],
    )
    .await;
    b.screenshot("after-sign-in").await;
    if !b.current_url().await.starts_with(&app.url("/results")) {
        b.goto(&app.url("/results")).await;
    }
    assert!(
        b.current_url().await.starts_with(&app.url("/results")),
        "signed in, /results sent the student to {}",
        b.current_url().await
    );
    b.screenshot_page("results").await;

    // The CSC 201 row reads CA 30, exam 45, total 75, grade A.
    let mut row = None;
    for tr in b.find_all("table tr").await {
        let text = b.text(&tr).await;
        if text.contains("201") && text.contains("CSC") {
            row = Some(text);
        }
    }
    let row = row.unwrap_or_else(|| panic!("no CSC 201 row in the results table"));
    let cells: Vec<&str> = row.split_whitespace().collect();
    for want in ["30", "45", "75", "A"] {
        assert!(cells.contains(&want), "CSC 201 row lacks {want}: {row}");
    }
    let page = b.page_text().await;
    assert!(page.contains("5.00"), "no GPA of 5.00 on the page:\n{page}");
    assert!(
        page.contains("Ada"),
        "the student's own name is not shown:\n{page}"
    );
    for other in ["Bola", "Chidi", STUDENTS[1], STUDENTS[2]] {
        assert!(
            !page.contains(other),
            "another student's {other} is shown:\n{page}"
        );
    }

    // Readable on a 360-px screen: nothing makes the whole page scroll sideways.
    let width = b.eval("return document.documentElement.scrollWidth").await;
    assert!(
        width.as_u64().is_some_and(|w| w <= 360),
        "the results page is {width} px wide on a 360-px phone"
    );
}

#[tokio::test]
async fn a_wrong_password_is_told_on_the_sign_in_page() {
    let app = spawn_app().await;
    let mut b = Browser::start("wrong_password", Window::Desktop).await;
    b.goto(&app.url("/login")).await;
    b.fill_and_submit(
        SIGN_IN_FORM,
        &[("username", STUDENTS[0]), ("password", "not the password")],
    )
    .await;
    b.screenshot("refused").await;
    let page = b.page_text().await.to_lowercase();
    assert!(
        page.contains("wrong username or password"),
        "the sign-in page does not say why:\n{page}"
    );
    // Still on the sign-in form, not on a page of the student's.
    b.find(&format!("{SIGN_IN_FORM} input[name=\"username\"]"))
        .await;
    assert!(!b.current_url().await.contains("/results"));
}

#[tokio::test]
async fn a_signed_out_visitor_to_results_is_sent_to_sign_in() {
    let app = spawn_app().await;
    let mut b = Browser::start("signed_out_results", Window::Phone).await;
    b.goto(&app.url("/results")).await;
    b.screenshot("redirected").await;
    let url = b.current_url().await;
    assert!(url.starts_with(&app.url("/login")), "sent to {url}");
    b.find(&format!("{SIGN_IN_FORM} input[name=\"username\"]"))
        .await;
}

/// Opens /login and signs in as student 0 with `password`.
async fn sign_in(app: &TestApp, b: &Browser, password: &str) {
    b.goto(&app.url("/login")).await;
    b.fill_and_submit(
        SIGN_IN_FORM,
        &[("username", STUDENTS[0]), ("password", password)],
    )
    .await;
}

#[tokio::test]
async fn a_student_changes_their_password_signs_out_and_signs_in_with_the_new_one() {
    const NEW: &str = "a new and longer passphrase 42";
    let app = spawn_app().await;
    let mut b = Browser::start("password_change", Window::Desktop).await;
    sign_in(&app, &b, PASSWORD).await;

    b.goto(&app.url("/account/password")).await;
    b.screenshot("password-form").await;
    b.fill_and_submit(
        "form:has(input[name=\"new_password\"])",
        &[
            ("current_password", PASSWORD),
            ("new_password", NEW),
            ("repeat_password", NEW),
        ],
    )
    .await;
    b.screenshot_page("password-changed").await;

    // Still signed in after the change: sign out with the header's button.
    let sign_out = b.find("form[action=\"/logout\"] button").await;
    b.click_to_navigate(&sign_out).await;
    b.screenshot("signed-out").await;
    b.goto(&app.url("/results")).await;
    let url = b.current_url().await;
    assert!(
        url.starts_with(&app.url("/login")),
        "signed out, /results showed {url}"
    );

    // The old password no longer works; the new one does.
    sign_in(&app, &b, PASSWORD).await;
    let page = b.page_text().await.to_lowercase();
    assert!(
        page.contains("wrong username or password"),
        "old password:\n{page}"
    );
    sign_in(&app, &b, NEW).await;
    b.goto(&app.url("/results")).await;
    let url = b.current_url().await;
    assert!(
        url.starts_with(&app.url("/results")),
        "new password: sent to {url}"
    );
    b.screenshot_page("results").await;
    assert!(b.page_text().await.contains("Ada"));
}
