//! Amendments in the pages, as a browser uses them (cookies, CSRF fields): the lecturer asks
//! on the published course's page, typing the new scores one student per line; each reviewer
//! finds it on their list and approves it on its page; the student's results page then marks
//! the score as amended. A badly typed line is named on the course page, and nothing is asked.

mod browser;
mod common;

use browser::Browser;
use common::courses::publish;
use common::university::{CSC201, DEAN, HOD, LECTURER, SENATE, STUDENTS};
use common::{spawn_app, TestApp, PASSWORD};
use reqwest::StatusCode;
use std::time::Duration;

const COURSE_PAGE: &str = "/courses/CSC201/2024-2025/first";

async fn signed_in(app: &TestApp, who: &str) -> Browser {
    let mut b = Browser::new(&app.base);
    b.sign_in(who, PASSWORD).await;
    b
}

/// The reviewer `who` opens their list, finds amendment `href` there, and approves it.
async fn approve_from_list(app: &TestApp, who: &str, href: &str) {
    let mut b = signed_in(app, who).await;
    let list = b.get("/amendments").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert!(
        list.body.contains(href),
        "{who}'s list has it: {}",
        list.body
    );
    let page = b.get(href).await;
    assert!(
        page.body.contains("id=\"approve-form\""),
        "{who} may decide: {}",
        page.body
    );
    let csrf = page.csrf();
    let done = b
        .post(
            &format!("{href}/decision"),
            &[("csrf", &csrf), ("decision", "approve")],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{who}: {}", done.body);
}

#[tokio::test]
async fn a_lecturer_asks_reviewers_approve_and_the_student_sees_the_mark() {
    let app = spawn_app().await;
    publish(&app, CSC201.0).await;
    let mut lecturer = signed_in(&app, LECTURER).await;
    let course = lecturer.get(COURSE_PAGE).await;
    assert!(course.body.contains("id=\"amend-form\""), "{}", course.body);
    assert!(
        course
            .body
            .contains("approved by HOD, then dean, then senate"),
        "{}",
        course.body
    );
    let csrf = course.csrf();

    // A line that is not three values is named, and nothing is asked.
    let bad = lecturer
        .post(
            &format!("{COURSE_PAGE}/amendments"),
            &[
                ("csrf", &csrf),
                ("reason", "re-marked"),
                ("records", "SCI/2021/0003 35"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert!(bad.body.contains("Line 1"), "{}", bad.body);
    assert!(
        !bad.body.contains("id=\"amendments\""),
        "no amendment listed: {}",
        bad.body
    );

    let records = format!("{}, 10, 35", STUDENTS[2]);
    let asked = lecturer
        .post(
            &format!("{COURSE_PAGE}/amendments"),
            &[
                ("csrf", &csrf),
                ("reason", "script re-marked on appeal"),
                ("records", &records),
            ],
        )
        .await;
    assert_eq!(asked.status, StatusCode::SEE_OTHER, "{}", asked.body);
    let href = asked.location().expect("the amendment's page").to_string();
    assert!(href.starts_with("/amendments/"), "{href}");

    // Its page shows the reason and, once checked, the change; the lecturer cannot decide.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let page = loop {
        let p = lecturer.get(&href).await;
        if p.body.contains(STUDENTS[2]) || tokio::time::Instant::now() > deadline {
            break p;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        page.body.contains("script re-marked on appeal"),
        "{}",
        page.body
    );
    assert!(page.body.contains("1 score changed"), "{}", page.body);
    assert!(page.body.contains("waiting for the HOD"), "{}", page.body);
    assert!(!page.body.contains("id=\"approve-form\""), "{}", page.body);
    assert!(
        lecturer.get(COURSE_PAGE).await.body.contains(&href),
        "listed on the course page"
    );

    // A reviewer reads the course's amendments but is not offered the form to ask for one.
    let hod_view = signed_in(&app, HOD).await.get(COURSE_PAGE).await;
    assert!(hod_view.body.contains(&href), "{}", hod_view.body);
    assert!(
        !hod_view.body.contains("id=\"amend-form\""),
        "{}",
        hod_view.body
    );

    for who in [HOD, DEAN, SENATE] {
        approve_from_list(&app, who, &href).await;
    }

    // Applied by the workers: the student's page marks the new score.
    let mut student = signed_in(&app, STUDENTS[2]).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let results = student.get("/results").await;
        if results.body.contains("class=\"amended\"") {
            assert!(
                results.body.contains(">45"),
                "the new total: {}",
                results.body
            );
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the amendment did not reach the results page: {}",
            results.body
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let page = lecturer.get(&href).await;
    assert!(page.body.contains("applied"), "{}", page.body);
}
