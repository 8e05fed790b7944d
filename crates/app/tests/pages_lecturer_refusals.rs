//! The lecturer's pages refusing what they must: another lecturer and a student are refused
//! the course page, its templates and its upload form; an upload or a submission without the
//! session's CSRF token changes nothing; and files that cannot be a score sheet (empty, too
//! large, not a sheet) are explained on the course page.

mod browser;
mod common;

use browser::{Browser, Part};
use common::courses::{course_url, sheet};
use common::university::{CSC201, LECTURER, OTHER_LECTURER, STUDENTS};
use common::{json, spawn_app, spawn_app_with, TestApp, PASSWORD};
use reqwest::StatusCode;

const COURSE: &str = "/courses/CSC201/2024-2025/first";

async fn signed_in(app: &TestApp, who: &str) -> Browser {
    Browser::signed_in(&app.base, who, PASSWORD).await
}

async fn stored_sheets(app: &TestApp) -> usize {
    let token = app.login(LECTURER).await;
    let (status, body) = json(
        app.get(
            &format!("{}/sheets", course_url(CSC201.0, "")),
            Some(&token),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["sheets"].as_array().unwrap().len()
}

#[tokio::test]
async fn another_lecturer_and_a_student_are_refused_the_course_its_template_and_its_upload() {
    let app = spawn_app().await;
    for who in [OTHER_LECTURER, STUDENTS[0]] {
        let mut b = signed_in(&app, who).await;
        for path in [
            COURSE.to_string(),
            format!("{COURSE}/template.csv"),
            format!("{COURSE}/template.xlsx"),
        ] {
            let page = b.get(&path).await;
            assert_eq!(page.status, StatusCode::FORBIDDEN, "{who} {path}");
            assert!(page.header("content-type").starts_with("text/html"));
            assert!(page.body.contains("<h1>Not allowed</h1>"), "{}", page.body);
            assert!(!page.body.contains(STUDENTS[1]), "{who} sees the class");
        }
        // Their own page's token is valid: the refusal is the service's, not the form's.
        let csrf = b.get("/account").await.csrf();
        let res = b
            .post_parts(
                &format!("{COURSE}/sheets"),
                vec![
                    Part::Text("csrf", &csrf),
                    Part::File("file", "scores.csv", sheet().into_bytes()),
                ],
            )
            .await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{who}: {}", res.body);
        assert!(
            res.body.contains("only its lecturer may upload"),
            "{}",
            res.body
        );
        let res = b
            .post(&format!("{COURSE}/submit"), &[("csrf", &csrf)])
            .await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{who}: {}", res.body);
    }
    assert_eq!(stored_sheets(&app).await, 0);
}

#[tokio::test]
async fn uploads_and_submits_without_the_sessions_token_are_refused_and_change_nothing() {
    let app = spawn_app().await;
    let mut b = signed_in(&app, LECTURER).await;
    // A valid token, of another person's session.
    let mut elsewhere = signed_in(&app, OTHER_LECTURER).await;
    let other_csrf = elsewhere.get("/account").await.csrf();
    let own_csrf = b.get(COURSE).await.csrf();
    assert_ne!(own_csrf, other_csrf);
    let file = || Part::File("file", "scores.csv", sheet().into_bytes());
    let attempts: Vec<(&str, Vec<Part>)> = vec![
        ("no token", vec![file()]),
        ("an empty token", vec![Part::Text("csrf", ""), file()]),
        (
            "another session's token",
            vec![Part::Text("csrf", &other_csrf), file()],
        ),
        (
            "the token after the file",
            vec![file(), Part::Text("csrf", &own_csrf)],
        ),
    ];
    for (what, parts) in attempts {
        let res = b.post_parts(&format!("{COURSE}/sheets"), parts).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{what}: {}", res.body);
        assert!(res.body.contains("This form has expired"), "{what}");
    }
    assert_eq!(stored_sheets(&app).await, 0);

    // A plain (urlencoded) post to the upload address is no file form.
    let res = b
        .post(&format!("{COURSE}/sheets"), &[("csrf", &own_csrf)])
        .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.body);
    assert!(res.body.contains("did not come from the upload form"));

    for (what, form) in [
        ("no token", vec![]),
        (
            "another session's token",
            vec![("csrf", other_csrf.as_str())],
        ),
    ] {
        let res = b.post(&format!("{COURSE}/submit"), &form).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{what}");
        assert!(res.body.contains("This form has expired"), "{what}");
    }
    assert_eq!(stored_sheets(&app).await, 0);

    // With its own token the same upload is recorded and the browser sent to the sheet.
    let res = b.upload_sheet(COURSE, &sheet()).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let to = res.location().unwrap().to_string();
    assert!(to.starts_with("/sheets/"), "{to}");
    assert_eq!(stored_sheets(&app).await, 1);
    // The same file again is the same sheet, and the page says so.
    let res = b.upload_sheet(COURSE, &sheet()).await;
    assert_eq!(res.location(), Some(format!("{to}?again=1").as_str()));
    assert!(b
        .get(res.location().unwrap())
        .await
        .body
        .contains("had been uploaded before"));
}

#[tokio::test]
async fn unusable_files_are_explained_on_the_course_page() {
    let app = spawn_app_with(|c| c.limits.max_upload_bytes = 4096).await;
    let mut b = signed_in(&app, LECTURER).await;
    let res = b.upload_sheet(COURSE, "").await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.body);
    assert!(res.body.contains("<h1>CSC 201 Data Structures</h1>"));
    assert!(res.body.contains("id=\"course-error\""), "{}", res.body);

    let page = b.get(COURSE).await;
    let csrf = page.csrf();
    let res = b
        .post_parts(
            &format!("{COURSE}/sheets"),
            vec![
                Part::Text("csrf", &csrf),
                Part::File("file", "photo.png", b"\x89PNG\r\n\x1a\n\0\0\0".to_vec()),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(
        res.body
            .contains("The file is a PNG image, not a CSV or XLSX spreadsheet"),
        "{}",
        res.body
    );
    assert!(res.body.contains("id=\"upload-form\""));

    // Larger than the configured 4 KB (the pages' 16 KB form limit is not what applies).
    let big = format!("Matric No,CA,Exam\n{}", "x".repeat(8 * 1024));
    let res = b.upload_sheet(COURSE, &big).await;
    assert_eq!(res.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", res.body);
    assert!(
        res.body
            .contains("larger than the 4 KB accepted for a score sheet"),
        "{}",
        res.body
    );
    // Past the whole form's bound too (file + 64 KB of room): refused all the same.
    let huge = "y".repeat(100 * 1024);
    let res = b.upload_sheet(COURSE, &huge).await;
    assert_eq!(res.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", res.body);
    assert!(
        res.body.contains("larger than the 4 KB accepted"),
        "{}",
        res.body
    );
    assert_eq!(stored_sheets(&app).await, 0);
}
