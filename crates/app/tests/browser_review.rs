//! The reviewers' pages in headless Chromium: after CSC 201's lecturer submits it, the HOD,
//! then the dean, then senate sign in, open their queue at /review, open the result and
//! approve it with the page's form; senate then publishes it; and the student signs in on a
//! phone-sized window and reads the published result on /results. The review pages fit a
//! 360-px phone too. Screenshots of every page visited are saved under
//! target/browser-screenshots/<test>/.
//!
//! Run with `cargo test -p eportal --test browser_review` (needs `./scripts/browser`).

mod common;
mod webdriver;

use common::courses::{course_url, moves_to, upload_processed};
use common::university::{CSC201, DEAN, HOD, LECTURER, SENATE, STUDENTS};
use common::{json, spawn_app, TestApp, PASSWORD};
use reqwest::StatusCode;
use webdriver::{Browser, Window};

const SIGN_IN_FORM: &str = "form:has(input[name=\"password\"])";

/// The lecturer uploads CSC 201's sheet (`common::courses::sheet`) and submits it.
async fn submitted(app: &TestApp) {
    let lecturer = app.login(LECTURER).await;
    upload_processed(app, &lecturer, CSC201.0).await;
    moves_to(app, &lecturer, CSC201.0, "submit", "submitted").await;
}

async fn api_state(app: &TestApp) -> String {
    let token = app.login(SENATE).await;
    let (status, body) = json(app.get(&course_url(CSC201.0, ""), Some(&token)).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["state"].as_str().unwrap().to_string()
}

async fn sign_in(app: &TestApp, b: &mut Browser, who: &str) {
    b.goto(&app.url("/login")).await;
    b.fill_and_submit(SIGN_IN_FORM, &[("username", who), ("password", PASSWORD)])
        .await;
    // A matric number's '/' would be a folder in the screenshot's name.
    b.screenshot(&format!("{}-signed-in", who.replace('/', "-")))
        .await;
}

async fn sign_out(b: &mut Browser, who: &str) {
    let button = b.find("form[action=\"/logout\"] button").await;
    b.click_to_navigate(&button).await;
    b.screenshot(&format!("{who}-signed-out")).await;
}

/// From the queue, opens CSC 201 by its link and sends the form of `step`; returns the text
/// of the queue page the form leads back to.
async fn open_and(app: &TestApp, b: &mut Browser, who: &str, step: &str) -> String {
    b.goto(&app.url("/review")).await;
    b.screenshot_page(&format!("{who}-queue")).await;
    let queue = b.page_text().await;
    for want in ["CSC 201 Data Structures", "66.7% (2 of 3 passed)"] {
        assert!(queue.contains(want), "{who}'s queue lacks {want}:\n{queue}");
    }
    let link = b.find("a.review-open").await;
    assert_eq!(
        b.text(&link).await,
        format!("Open CSC 201 to {step} it"),
        "{who}"
    );
    b.click_to_navigate(&link).await;
    assert!(
        b.current_url()
            .await
            .ends_with("/review/CSC201/2024-2025/first"),
        "{who} opened {}",
        b.current_url().await
    );
    b.screenshot_page(&format!("{who}-{step}-item")).await;
    let item = b.page_text().await;
    assert!(item.contains("SCI/2021/0003"), "{item}");
    b.fill_and_submit(&format!("#{step}-form"), &[]).await;
    b.screenshot_page(&format!("{who}-{step}-done")).await;
    assert!(
        b.current_url().await.contains("/review?done="),
        "{who}'s {step} led to {}",
        b.current_url().await
    );
    b.find("#done").await;
    b.page_text().await
}

#[tokio::test]
async fn the_hod_dean_and_senate_approve_senate_publishes_and_the_student_reads_it() {
    let app = spawn_app().await;
    submitted(&app).await;
    let mut b = Browser::start("reviewers_approve_and_publish", Window::Desktop).await;

    for (who, state) in [
        (HOD, "hod_approved"),
        (DEAN, "faculty_approved"),
        (SENATE, "senate_approved"),
    ] {
        sign_in(&app, &mut b, who).await;
        let after = open_and(&app, &mut b, who, "approve").await;
        assert!(
            after.contains("CSC 201, 2024/2025 first semester has been approved"),
            "{who}:\n{after}"
        );
        assert_eq!(api_state(&app).await, state, "after {who}'s approval");
        if who != SENATE {
            sign_out(&mut b, who).await;
        }
    }

    // Senate's queue now holds it to publish.
    let after = open_and(&app, &mut b, SENATE, "publish").await;
    assert!(
        after.contains("has been published: its students can now see their results"),
        "{after}"
    );
    assert!(
        after.contains("Nothing is waiting for your review."),
        "{after}"
    );
    assert_eq!(api_state(&app).await, "published");
    sign_out(&mut b, SENATE).await;
    drop(b);

    let mut phone = Browser::start("student_reads_published_result", Window::Phone).await;
    sign_in(&app, &mut phone, STUDENTS[0]).await;
    phone.goto(&app.url("/results")).await;
    phone.screenshot_page("results").await;
    let mut row = None;
    for tr in phone.find_all("table tr").await {
        let text = phone.text(&tr).await;
        if text.contains("CSC 201") {
            row = Some(text);
        }
    }
    let row = row.unwrap_or_else(|| panic!("no CSC 201 row on the student's results"));
    let cells: Vec<&str> = row.split_whitespace().collect();
    for want in ["30", "45", "75", "A"] {
        assert!(cells.contains(&want), "CSC 201 row lacks {want}: {row}");
    }
}

#[tokio::test]
async fn the_review_pages_fit_a_phone() {
    let app = spawn_app().await;
    submitted(&app).await;
    let mut b = Browser::start("review_on_a_phone", Window::Phone).await;
    sign_in(&app, &mut b, HOD).await;
    for (name, path) in [
        ("queue", "/review"),
        ("item", "/review/CSC201/2024-2025/first"),
    ] {
        b.goto(&app.url(path)).await;
        b.screenshot_page(name).await;
        let width = b.eval("return document.documentElement.scrollWidth").await;
        assert!(
            width.as_u64().is_some_and(|w| w <= 360),
            "{path} is {width} px wide on a 360-px phone"
        );
    }
    // The return form, sent without a reason, is shown again with the service's message
    // tied to the field.
    let reason = b.find("#return-form textarea[name=\"reason\"]").await;
    let label = b.find("label[for=\"reason\"]").await;
    assert!(b.text(&label).await.starts_with("Reason for returning it"));
    b.type_into(&reason, "   ").await;
    let button = b.find("#return-form button[type=\"submit\"]").await;
    b.click_to_navigate(&button).await;
    b.screenshot_page("return-without-reason").await;
    let error = b.find("#reason-error").await;
    assert_eq!(
        b.text(&error).await,
        "A returned result needs a reason the lecturer can act on."
    );
    assert_eq!(api_state(&app).await, "submitted");
}
