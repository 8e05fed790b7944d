//! The reviewers' pages refusing what they must: forms without their session's CSRF token
//! (none, empty, another reviewer's or a student's) are refused and change nothing, while the
//! same form with its own token is accepted; students and lecturers are refused every review
//! page and every review step. The result's state is always read back through the API.

mod browser;
mod common;

use browser::Browser;
use common::courses::{csc201_state, csc201_submitted};
use common::university::{DEAN, HOD, LECTURER, OTHER_LECTURER, STUDENTS};
use common::{spawn_app, TestApp, PASSWORD};
use reqwest::StatusCode;

const ITEM: &str = "/review/CSC201/2024-2025/first";

async fn signed_in(app: &TestApp, who: &str) -> Browser {
    Browser::signed_in(&app.base, who, PASSWORD).await
}

#[tokio::test]
async fn forms_without_their_sessions_token_are_refused_and_change_nothing() {
    let app = spawn_app().await;
    csc201_submitted(&app).await;
    let mut hod = signed_in(&app, HOD).await;
    // Other people's sessions: another reviewer's, and a student's.
    let mut dean = signed_in(&app, DEAN).await;
    let mut ada = signed_in(&app, STUDENTS[0]).await;
    let own = hod.get(ITEM).await.csrf();
    let deans = dean.get("/review").await.csrf();
    let adas = ada.get("/results").await.csrf();
    assert!(own != deans && own != adas);

    for step in ["approve", "return", "publish"] {
        for (what, token) in [
            ("no token", None),
            ("an empty token", Some("")),
            ("the dean's session's token", Some(deans.as_str())),
            ("a student's session's token", Some(adas.as_str())),
        ] {
            let mut form = vec![("reason", "Please check row 2.")];
            if let Some(t) = token {
                form.push(("csrf", t));
            }
            let res = hod.post(&format!("{ITEM}/{step}"), &form).await;
            assert_eq!(
                res.status,
                StatusCode::FORBIDDEN,
                "{step}, {what}: {}",
                res.body
            );
            assert!(
                res.body.contains("This form has expired"),
                "{step}, {what}: {}",
                res.body
            );
            assert_eq!(
                csc201_state(&app).await,
                ("submitted".into(), None),
                "{step}, {what}"
            );
        }
    }
    // With its own token the same form is accepted.
    let res = hod
        .post(&format!("{ITEM}/approve"), &[("csrf", &own)])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(csc201_state(&app).await.0, "hod_approved");
}

#[tokio::test]
async fn students_and_lecturers_are_refused_the_review_pages() {
    let app = spawn_app().await;
    csc201_submitted(&app).await;
    for who in [STUDENTS[0], LECTURER, OTHER_LECTURER] {
        let mut b = signed_in(&app, who).await;
        // Their own session's token, from the sign-out form of any page they may open.
        let csrf = b.get("/account").await.csrf();
        for path in ["/review", ITEM] {
            let res = b.get(path).await;
            assert_eq!(
                res.status,
                StatusCode::FORBIDDEN,
                "{who} {path}: {}",
                res.body
            );
            assert!(
                res.body.contains("Not allowed"),
                "{who} {path}: {}",
                res.body
            );
            for student in STUDENTS {
                assert!(
                    !res.body.contains(student) || who == student,
                    "{who} {path}"
                );
            }
        }
        for step in ["approve", "return", "publish"] {
            let res = b
                .post(
                    &format!("{ITEM}/{step}"),
                    &[("csrf", &csrf), ("reason", "Please check row 2.")],
                )
                .await;
            // The workflow service decides: CSC 201's own lecturer has a part in it, so they
            // are told a submitted result cannot be published now (409); everyone else that
            // they have no part in reviewing it (403).
            let expected = if who == LECTURER && step == "publish" {
                StatusCode::CONFLICT
            } else {
                StatusCode::FORBIDDEN
            };
            assert_eq!(res.status, expected, "{who} {step}: {}", res.body);
            assert_eq!(
                csc201_state(&app).await,
                ("submitted".into(), None),
                "{who} {step}"
            );
        }
    }
}
