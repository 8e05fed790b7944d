//! A lecturer's work in headless Chromium: signs in, opens My courses and the course page,
//! downloads the score-sheet template (with the browser's own session cookie), fills in scores
//! with two bad rows, uploads it through the file field, waits on the sheet's page while it
//! refreshes itself, reads the rejected rows by row number and reason, and submits the result
//! for review. On a phone-sized window the course page fits 360 px. Screenshots of every page
//! visited are saved under target/browser-screenshots/<test>/.
//!
//! Run with `cargo test -p eportal --test browser_lecturer` (needs `./scripts/browser`).

mod common;
mod webdriver;

use common::university::{LECTURER, STUDENTS};
use common::{spawn_app, TestApp, PASSWORD};
use std::time::{Duration, Instant};
use webdriver::{Browser, Window};

const SIGN_IN_FORM: &str = "form:has(input[name=\"password\"])";
const COURSE: &str = "/courses/CSC201/2024-2025/first";

async fn sign_in(app: &TestApp, b: &mut Browser) {
    b.goto(&app.url("/login")).await;
    b.fill_and_submit(
        SIGN_IN_FORM,
        &[("username", LECTURER), ("password", PASSWORD)],
    )
    .await;
}

/// The texts of the rows of the table `css`'s body.
async fn rows(b: &Browser, css: &str) -> Vec<String> {
    let mut out = Vec::new();
    for tr in b.find_all(&format!("{css} tbody tr")).await {
        out.push(b.text(&tr).await);
    }
    out
}

#[tokio::test]
async fn a_lecturer_downloads_the_template_uploads_scores_reads_the_errors_and_submits() {
    let app = spawn_app().await;
    let mut b = Browser::start("lecturer_upload_and_submit", Window::Desktop).await;
    sign_in(&app, &mut b).await;
    // A lecturer's home is My courses.
    assert_eq!(b.current_url().await, app.url("/courses"));
    b.screenshot_page("my-courses").await;
    let list = rows(&b, "table.courses").await;
    assert_eq!(list.len(), 2, "{list:?}");
    assert!(list[0].starts_with("CSC 201"), "{list:?}");
    assert!(list[0].contains("draft"), "{list:?}");
    assert!(list[1].starts_with("MTH 201"), "{list:?}");

    let link = b.find(&format!("a[href=\"{COURSE}\"]")).await;
    b.click_to_navigate(&link).await;
    assert_eq!(b.current_url().await, app.url(COURSE));
    b.screenshot_page("course").await;
    let class = rows(&b, "#class-list").await;
    assert_eq!(class.len(), 3, "{class:?}");
    for (row, m) in class.iter().zip(STUDENTS) {
        assert!(row.contains(m), "{row}");
    }

    // The template link, fetched as the browser would with its session cookie.
    let link = b.find("#template-csv").await;
    let href = b.attribute(&link, "href").await.expect("an href");
    let url = if href.starts_with('/') {
        app.url(&href)
    } else {
        href
    };
    assert_eq!(url, app.url(&format!("{COURSE}/template.csv")));
    let cookie = b
        .cookie("eportal_session")
        .await
        .expect("the browser holds its session cookie");
    let res = reqwest::Client::new()
        .get(&url)
        .header("cookie", format!("eportal_session={cookie}"))
        .send()
        .await
        .expect("the portal answers");
    assert_eq!(res.status(), reqwest::StatusCode::OK);
    let disposition = res.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(disposition.starts_with("attachment;"), "{disposition}");
    let template = res.text().await.unwrap();

    // Fill it in: student 2's exam is 95 (above 60), and a row for a student who does not
    // exist is added at the end (row 5, the header being row 1).
    let scores = [("30", "45"), ("25", "95"), ("10", "20")];
    let mut filled = String::new();
    let mut n = 0;
    for line in template.lines() {
        if n > 0 {
            let (ca, exam) = scores[n - 1];
            let line = line.strip_suffix(",,").expect("empty score cells");
            filled.push_str(&format!("{line},{ca},{exam}\r\n"));
        } else {
            filled.push_str(line);
            filled.push_str("\r\n");
        }
        n += 1;
    }
    assert_eq!(n, 4, "{template}");
    filled.push_str("4,SCI/2021/0999,\"Nobody, Known\",20,30\r\n");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("CSC201_2024-2025_first_scores.csv");
    std::fs::write(&file, filled).unwrap();

    let input = b.find("#upload-form input[type=\"file\"]").await;
    b.type_into(&input, file.to_str().unwrap()).await;
    let upload = b.find("#upload-form button[type=\"submit\"]").await;
    b.click_to_navigate(&upload).await;
    let sheet_url = b.current_url().await;
    assert!(sheet_url.starts_with(&app.url("/sheets/")), "{sheet_url}");
    b.screenshot_page("sheet-uploaded").await;

    // The page refreshes itself until the worker is done; nothing is clicked here.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        // Read by script: an element found before a refresh is gone after it.
        let text = b
            .eval("const e = document.getElementById('status'); return e ? e.textContent : ''")
            .await
            .as_str()
            .unwrap_or_default()
            .to_string();
        if text == "processed" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the sheet page still reads '{text}' after 30 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(b.current_url().await, sheet_url);
    b.screenshot_page("sheet-processed").await;
    assert_eq!(b.text(&b.find("#rows-accepted").await).await, "2");
    assert_eq!(b.text(&b.find("#rows-rejected").await).await, "2");
    let errors = rows(&b, "#row-errors").await;
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(errors[0].starts_with("3"), "{errors:?}");
    assert!(errors[0].contains(STUDENTS[1]), "{errors:?}");
    assert!(
        errors[0].contains("Exam score 95 is above the maximum of 60"),
        "{errors:?}"
    );
    assert!(errors[1].starts_with("5"), "{errors:?}");
    assert!(
        errors[1].contains("No student has the matric number SCI/2021/0999"),
        "{errors:?}"
    );

    // Back to the course: the sheet is in its history; submit the result for review.
    let back = b.find(&format!("main a[href=\"{COURSE}\"]")).await;
    b.click_to_navigate(&back).await;
    let history = rows(&b, "#sheets").await;
    assert_eq!(history.len(), 1, "{history:?}");
    assert!(history[0].contains("processed"), "{history:?}");
    // The sheet's bad rows left registered students unscored: the page lists them, and the
    // browser will not send the form until the lecturer ticks the box confirming them.
    let unscored = b.text(&b.find("#unscored").await).await;
    assert!(unscored.contains("no score and no ABS"), "{unscored}");
    let submit = b.find("#submit-form button[type=\"submit\"]").await;
    b.click(&submit).await;
    assert!(
        b.current_url().await.ends_with(COURSE),
        "an unticked confirmation keeps the form on the page"
    );
    b.screenshot_page("unscored-to-confirm").await;
    let tick = b.find("#unscored input[name=\"confirm_unscored\"]").await;
    b.click(&tick).await;
    b.fill_and_submit("#submit-form", &[]).await;
    b.screenshot_page("submitted").await;
    assert_eq!(
        b.current_url().await,
        app.url(&format!("{COURSE}?submitted=1"))
    );
    assert_eq!(
        b.text(&b.find("#state").await).await,
        "submitted for review"
    );
    assert!(b.find_all("#upload-form").await.is_empty());
    assert!(b.find_all("#submit-form").await.is_empty());

    b.goto(&app.url("/courses")).await;
    b.screenshot_page("my-courses-after").await;
    let list = rows(&b, "table.courses").await;
    assert!(list[0].contains("submitted for review"), "{list:?}");
}

#[tokio::test]
async fn the_course_pages_fit_a_phone() {
    let app = spawn_app().await;
    let mut b = Browser::start("lecturer_phone", Window::Phone).await;
    sign_in(&app, &mut b).await;
    for (name, path) in [("my-courses", "/courses"), ("course", COURSE)] {
        b.goto(&app.url(path)).await;
        b.screenshot_page(name).await;
        let width = b.eval("return document.documentElement.scrollWidth").await;
        assert!(
            width.as_u64().is_some_and(|w| w <= 360),
            "{path} is {width} px wide on a 360-px phone"
        );
    }
    // The upload form's field is labelled and within the screen.
    b.find("#upload-form input#file[type=\"file\"]").await;
    b.find("#upload-form label[for=\"file\"]").await;
    let right = b
        .eval("return document.getElementById('file').getBoundingClientRect().right")
        .await;
    assert!(
        right.as_f64().is_some_and(|r| r <= 360.0),
        "the file field reaches {right} px"
    );
}
