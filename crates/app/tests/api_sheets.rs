//! Score-sheet uploads: raw and multipart bodies, processing by the in-process workers,
//! row errors by row number, idempotent re-uploads, and every refusal of the envelope.

mod common;

use common::university::{CSC201, LECTURER, MTH201, OTHER_LECTURER, STUDENTS};
use common::{json, problem, spawn_app, spawn_app_with};
use reqwest::multipart::{Form, Part};
use reqwest::{Method, StatusCode};

fn clean_csv() -> String {
    format!(
        "Matric No,CA,Exam\n{},30,45\n{},25.5,30\n{},10,20\n",
        STUDENTS[0], STUDENTS[1], STUDENTS[2]
    )
}

#[tokio::test]
async fn a_raw_csv_upload_is_accepted_then_processed() {
    let app = spawn_app().await;
    let lecturer = app.login(LECTURER).await;
    let res = app
        .request(
            Method::POST,
            "/api/v1/score-sheets?course=CSC201&session=2024-2025&semester=first&filename=csc201.csv",
            Some(&lecturer),
        )
        .header("content-type", "text/csv; charset=utf-8")
        .header("x-request-id", "upload-req-1")
        .body(clean_csv())
        .send()
        .await
        .unwrap();
    let location = res
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string());
    let (status, body) = json(res).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["created"], true);
    assert_eq!(body["status"], "queued");
    let id = body["id"].as_i64().expect("an id");
    assert_eq!(body["status_url"], format!("/api/v1/score-sheets/{id}"));
    assert_eq!(location.as_deref(), body["status_url"].as_str());

    let sheet = app.wait_processed(&lecturer, id).await;
    assert_eq!(sheet["status"], "processed", "{sheet}");
    assert_eq!(
        (
            sheet["rows_total"].as_u64(),
            sheet["rows_accepted"].as_u64()
        ),
        (Some(3), Some(3))
    );
    assert_eq!(sheet["row_errors"].as_array().map(Vec::len), Some(0));
    assert_eq!(sheet["course"], "CSC 201");
    assert_eq!(sheet["session"], "2024/2025");
    assert_eq!(sheet["filename"], "csc201.csv");
    assert_eq!(sheet["uploaded_by"], LECTURER);

    // The same bytes again are the same sheet.
    let (status, again) = app.upload_csv(&lecturer, CSC201.0, &clean_csv()).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{again}");
    assert_eq!(
        (again["id"].as_i64(), again["created"].as_bool()),
        (Some(id), Some(false))
    );

    // Only its lecturer and reviewers may read it: to anyone else it does not exist.
    for who in [OTHER_LECTURER, STUDENTS[0]] {
        let t = app.login(who).await;
        problem(
            app.get(&format!("/api/v1/score-sheets/{id}"), Some(&t))
                .await,
            StatusCode::NOT_FOUND,
        )
        .await;
    }
    problem(
        app.get("/api/v1/score-sheets/abc", Some(&lecturer)).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
}

#[tokio::test]
async fn a_multipart_upload_is_accepted_then_processed() {
    let app = spawn_app().await;
    let lecturer = app.login(LECTURER).await;
    let file = Part::bytes(clean_csv().into_bytes())
        .file_name("mth201.csv")
        .mime_str("text/csv")
        .unwrap();
    let form = Form::new()
        .text("course", MTH201.0)
        .text("session", "2024/2025")
        .text("semester", "1")
        .part("file", file);
    let res = app
        .request(Method::POST, "/api/v1/score-sheets", Some(&lecturer))
        .multipart(form)
        .send()
        .await
        .unwrap();
    let (status, body) = json(res).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let sheet = app
        .wait_processed(&lecturer, body["id"].as_i64().unwrap())
        .await;
    assert_eq!(sheet["status"], "processed", "{sheet}");
    assert_eq!(sheet["course"], "MTH 201");
    assert_eq!(sheet["filename"], "mth201.csv");
    assert_eq!(sheet["rows_accepted"], 3);

    // A form without the file names it.
    let form = Form::new()
        .text("course", MTH201.0)
        .text("session", "2024-2025")
        .text("semester", "first");
    let res = app
        .request(Method::POST, "/api/v1/score-sheets", Some(&lecturer))
        .multipart(form)
        .send()
        .await
        .unwrap();
    let body = problem(res, StatusCode::BAD_REQUEST).await;
    assert_eq!(body["errors"][0]["name"], "file", "{body}");
}

#[tokio::test]
async fn row_errors_are_reported_by_row_number() {
    let app = spawn_app().await;
    let lecturer = app.login(LECTURER).await;
    // Row 1 is the header; rows 3, 4 and 5 are wrong in different ways.
    let csv = format!(
        "Matric No,CA,Exam\n{},30,45\nSCI/2021/9999,20,40\n{},abc,40\n{},20,75\n",
        STUDENTS[0], STUDENTS[1], STUDENTS[2]
    );
    let (status, body) = app.upload_csv(&lecturer, CSC201.0, &csv).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let sheet = app
        .wait_processed(&lecturer, body["id"].as_i64().unwrap())
        .await;
    assert_eq!(sheet["status"], "processed", "{sheet}");
    assert_eq!(
        (
            sheet["rows_accepted"].as_u64(),
            sheet["rows_rejected"].as_u64()
        ),
        (Some(1), Some(3))
    );
    let errors: Vec<(u64, String, String)> = sheet["row_errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            assert!(!e["message"].as_str().unwrap().is_empty(), "{e}");
            (
                e["row"].as_u64().unwrap(),
                e["matric"].as_str().unwrap_or("").to_string(),
                e["kind"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        errors,
        vec![
            (
                3,
                "SCI/2021/9999".to_string(),
                "unknown_student".to_string()
            ),
            (4, STUDENTS[1].to_string(), "not_a_number".to_string()),
            (5, STUDENTS[2].to_string(), "out_of_range".to_string()),
        ]
    );
}

#[tokio::test]
async fn the_envelope_is_checked_before_anything_is_queued() {
    let app = spawn_app().await;
    let lecturer = app.login(LECTURER).await;

    // A lecturer not allocated to the course.
    let other = app.login(OTHER_LECTURER).await;
    let res = app.upload_csv(&other, CSC201.0, &clean_csv()).await;
    assert_eq!(res.0, StatusCode::FORBIDDEN, "{}", res.1);

    // Not a spreadsheet: by its declared type, and by its bytes.
    let pdf = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n\x00\x00".to_vec();
    for content_type in ["application/pdf", "application/octet-stream"] {
        let res = app
            .request(
                Method::POST,
                "/api/v1/score-sheets?course=CSC201&session=2024-2025&semester=first",
                Some(&lecturer),
            )
            .header("content-type", content_type)
            .body(pdf.clone())
            .send()
            .await
            .unwrap();
        problem(res, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
    }

    // Empty.
    let (status, body) = app.upload_csv(&lecturer, CSC201.0, "").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("empty"), "{body}");

    // Missing and malformed term values are named.
    let res = app
        .request(
            Method::POST,
            "/api/v1/score-sheets?session=2024/2026&semester=third",
            Some(&lecturer),
        )
        .header("content-type", "text/csv")
        .body(clean_csv())
        .send()
        .await
        .unwrap();
    let body = problem(res, StatusCode::BAD_REQUEST).await;
    let mut named: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    named.sort();
    assert_eq!(named, ["course", "semester", "session"], "{body}");

    // An unknown course.
    let (status, body) = app.upload_csv(&lecturer, "XYZ999", &clean_csv()).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");

    // Nothing above was recorded: the next sheet is the first.
    let (status, body) = app.upload_csv(&lecturer, CSC201.0, &clean_csv()).await;
    assert_eq!(
        (status, body["created"].as_bool()),
        (StatusCode::ACCEPTED, Some(true))
    );
}

#[tokio::test]
async fn sheets_over_the_size_limit_are_refused() {
    let app = spawn_app_with(|c| c.limits.max_upload_bytes = 2048).await;
    let lecturer = app.login(LECTURER).await;
    let mut csv = clean_csv();
    while csv.len() <= 2048 {
        csv.push('\n');
    }
    let (status, body) = app.upload_csv(&lecturer, CSC201.0, &csv).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("2 KB"), "{body}");

    // Far over the limit: refused while reading, before the use case sees it.
    let big = "x".repeat(100 * 1024);
    let res = app
        .request(
            Method::POST,
            "/api/v1/score-sheets?course=CSC201&session=2024-2025&semester=first",
            Some(&lecturer),
        )
        .header("content-type", "text/csv")
        .body(big)
        .send()
        .await
        .unwrap();
    problem(res, StatusCode::PAYLOAD_TOO_LARGE).await;

    // Just under the limit is fine.
    let (status, body) = app.upload_csv(&lecturer, CSC201.0, &clean_csv()).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
}
