//! Score sheets that do what a lecturer expects: `ABS` is recorded and counts as the policy
//! says, the total shown is the total that was graded, a result with registered students
//! who have no score is not submitted until the lecturer confirms them, Excel's Windows
//! code-page CSV is accepted at upload, and size limits read in MB.

mod browser;
mod common;

use browser::Browser;
use common::courses::{course_url, csc201_line, publish_sheet, upload_csv_processed};
use common::university::{CSC201, LECTURER, STUDENTS};
use common::{json, problem, spawn_app, PASSWORD};
use reqwest::StatusCode;
use serde_json::{json, Value};

#[tokio::test]
async fn abs_is_recorded_and_the_graded_total_is_the_one_shown() {
    let app = spawn_app().await;
    let csv = format!(
        "Matric No,CA,Exam\n{},30,45\n{},20,ABS\n{},24.5,20\n",
        STUDENTS[0], STUDENTS[1], STUDENTS[2]
    );
    publish_sheet(&app, CSC201.0, &csv).await;

    // Absent: recorded, not left out; under the default policy it counts as a fail.
    let (line, body) = csc201_line(&app, STUDENTS[1]).await;
    assert_eq!(line["absent"], true, "{line}");
    assert_eq!(line["grade"], "ABS", "{line}");
    assert_eq!(line["points"], 0, "{line}");
    assert_eq!(line["ca"], 20, "{line}");
    assert_eq!(
        body["semesters"][0]["units"], 3,
        "the absence's units count: {body}"
    );
    assert_eq!(body["semesters"][0]["gpa"], "0.00", "{body}");

    // 24.5 + 20 = 44.5, graded as 45 under the default rounding: shown as 45 beside its D.
    let (line, _) = csc201_line(&app, STUDENTS[2]).await;
    assert_eq!(line["total"], 45, "{line}");
    assert_eq!(line["exact_total"], 44.5, "{line}");
    assert_eq!(line["grade"], "D", "{line}");

    // The student's page shows ABS and the graded total with the exact sum beside it.
    let page = |matric: &'static str| {
        let base = app.base.clone();
        async move {
            let mut b = Browser::new(&base);
            b.sign_in(matric, PASSWORD).await;
            let p = b.get("/results").await;
            assert_eq!(p.status, StatusCode::OK, "{}", p.body);
            p.body
        }
    };
    let absent_page = page(STUDENTS[1]).await;
    assert!(
        absent_page.contains(">ABS</td>"),
        "the exam column reads ABS: {absent_page}"
    );
    let rounded_page = page(STUDENTS[2]).await;
    assert!(
        rounded_page.contains(">45 <span"),
        "the graded total is shown: {rounded_page}"
    );
}

#[tokio::test]
async fn a_result_with_unscored_students_needs_their_list_confirmed() {
    let app = spawn_app().await;
    let lecturer = app.login(LECTURER).await;
    // The third registered student is on no row at all.
    let csv = format!(
        "Matric No,CA,Exam\n{},30,45\n{},20,ABS\n",
        STUDENTS[0], STUDENTS[1]
    );
    upload_csv_processed(&app, &lecturer, CSC201.0, &csv).await;

    let (status, detail) = json(app.get(&course_url(CSC201.0, ""), Some(&lecturer)).await).await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    assert_eq!(detail["unscored"], json!([STUDENTS[2]]), "{detail}");

    // Submitting without confirming is refused, naming the student.
    let res = app
        .post_json(&course_url(CSC201.0, "submit"), Some(&lecturer), &json!({}))
        .await;
    let p = problem(res, StatusCode::CONFLICT).await;
    let detail_text = p["detail"].as_str().unwrap();
    assert!(
        detail_text.starts_with("1 registered student of CSC"),
        "{detail_text}"
    );
    assert!(detail_text.contains(STUDENTS[2]), "{detail_text}");
    assert!(detail_text.contains("write ABS"), "{detail_text}");

    // Confirming someone else does not cover them; a list that is not matric numbers is 422.
    let res = app
        .post_json(
            &course_url(CSC201.0, "submit"),
            Some(&lecturer),
            &json!({ "confirm_unscored": [STUDENTS[0]] }),
        )
        .await;
    problem(res, StatusCode::CONFLICT).await;
    let res = app
        .post_json(
            &course_url(CSC201.0, "submit"),
            Some(&lecturer),
            &json!({ "confirm_unscored": ["not a matric"] }),
        )
        .await;
    let p = problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(
        p["detail"].as_str().unwrap().contains("'not a matric'"),
        "{p}"
    );

    // Confirming the list submits the result.
    let res = app
        .post_json(
            &course_url(CSC201.0, "submit"),
            Some(&lecturer),
            &json!({ "confirm_unscored": [STUDENTS[2]] }),
        )
        .await;
    let (status, body) = json(res).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["state"], "submitted", "{body}");
}

#[tokio::test]
async fn excel_windows_code_page_csv_is_accepted_and_its_names_kept() {
    let app = spawn_app().await;
    let lecturer = app.login(LECTURER).await;
    // Excel's "CSV (Comma delimited)": Windows-1252, so é is one byte (0xE9), not UTF-8.
    let mut csv = b"Matric No,Name,CA,Exam\r\n".to_vec();
    for (i, m) in STUDENTS.iter().enumerate() {
        csv.extend_from_slice(m.as_bytes());
        csv.extend_from_slice(b",Ad\xe9b\xe1yo O\x92Brien,");
        csv.extend_from_slice(format!("{},{}\r\n", 20 + i, 40 + i).as_bytes());
    }
    assert!(std::str::from_utf8(&csv).is_err(), "the file is not UTF-8");
    let id = app
        .upload_accepted(&lecturer, CSC201.0, "text/csv", csv)
        .await;
    let done = app.wait_processed(&lecturer, id).await;
    assert_eq!(done["status"], "processed", "{done}");
    assert_eq!(done["rows_accepted"], 3, "{done}");

    // What cannot be a sheet is named, with how to save one.
    let (status, body) = app
        .upload_bytes(&lecturer, CSC201.0, "text/csv", b"%PDF-1.7\n...".to_vec())
        .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{body}");
    let detail = body["detail"].as_str().unwrap();
    assert!(detail.starts_with("the file is a PDF document"), "{detail}");
    assert!(detail.contains("CSV (Comma delimited)"), "{detail}");
}

#[tokio::test]
async fn size_limits_are_stated_in_mb() {
    let app = spawn_app().await;
    let lecturer = app.login(LECTURER).await;
    let big = "x".repeat(6 * 1024 * 1024);
    let (status, body) = app
        .upload_bytes(&lecturer, CSC201.0, "text/csv", big.into_bytes())
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    let detail = body["detail"].as_str().unwrap();
    assert!(detail.contains(" MB"), "{detail}");
    assert!(!detail.contains("bytes"), "{detail}");
}

/// Uploads `csv` in `mode` for CSC 201 and waits until a worker has judged it.
async fn judged(app: &common::TestApp, token: &str, csv: &str, mode: &str) -> Value {
    let res = app
        .request(
            reqwest::Method::POST,
            &format!(
                "/api/v1/score-sheets?course={}&session=2024-2025&semester=first&mode={mode}",
                CSC201.0
            ),
            Some(token),
        )
        .header("content-type", "text/csv")
        .body(csv.to_string())
        .send()
        .await
        .unwrap();
    let (status, body) = json(res).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    app.wait_processed(token, body["id"].as_i64().unwrap())
        .await
}

/// The CSC 201 scores as (matric, total), in matric order.
async fn course_totals(app: &common::TestApp, token: &str) -> Vec<(String, f64)> {
    let (status, detail) = json(app.get(&course_url(CSC201.0, ""), Some(token)).await).await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    let mut v: Vec<(String, f64)> = detail["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["matric_no"].as_str().unwrap().to_string(),
                r["total"].as_f64().unwrap(),
            )
        })
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

#[tokio::test]
async fn a_sheet_that_would_remove_scores_waits_for_the_lecturers_confirmation() {
    let app = spawn_app().await;
    let lecturer = app.login(LECTURER).await;
    let all = format!(
        "Matric No,CA,Exam\n{},30,45\n{},20,30\n{},10,20\n",
        STUDENTS[0], STUDENTS[1], STUDENTS[2]
    );
    judged(&app, &lecturer, &all, "replace").await;
    let before = course_totals(&app, &lecturer).await;

    // The class list again, without the third student and with one score changed.
    let fewer = format!(
        "Matric No,CA,Exam\n{},30,50\n{},20,30\n",
        STUDENTS[0], STUDENTS[1]
    );
    let held = judged(&app, &lecturer, &fewer, "replace").await;
    assert_eq!(held["status"], "held", "{held}");
    assert_eq!(held["changes"]["removed"], 1, "{held}");
    assert_eq!(held["changes"]["changed"], 1, "{held}");
    assert_eq!(
        held["changes"]["removed_matrics"],
        json!([STUDENTS[2]]),
        "{held}"
    );
    let message = held["message"].as_str().unwrap();
    assert!(message.contains(STUDENTS[2]), "{message}");
    assert!(message.contains("add rows"), "{message}");
    assert_eq!(
        course_totals(&app, &lecturer).await,
        before,
        "a held sheet changes nothing"
    );

    // Someone who may read it but not confirm it (the HOD) is refused.
    let id = held["id"].as_i64().unwrap();
    let hod = app.login(common::university::HOD).await;
    let confirm = format!("/api/v1/score-sheets/{id}/confirm");
    let res = app.post_json(&confirm, Some(&hod), &json!({})).await;
    problem(res, StatusCode::FORBIDDEN).await;

    // The lecturer confirms: applied, the third student's score removed.
    let (status, body) = json(app.post_json(&confirm, Some(&lecturer), &json!({})).await).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let done = app.wait_processed(&lecturer, id).await;
    assert_eq!(done["status"], "processed", "{done}");
    assert_eq!(
        course_totals(&app, &lecturer).await,
        vec![
            (STUDENTS[0].to_string(), 80.0),
            (STUDENTS[1].to_string(), 50.0)
        ]
    );
    // Confirming twice is a conflict, not a second application.
    let res = app.post_json(&confirm, Some(&lecturer), &json!({})).await;
    problem(res, StatusCode::CONFLICT).await;
}

#[tokio::test]
async fn add_rows_parts_and_an_earlier_file_uploaded_again() {
    let app = spawn_app().await;
    let lecturer = app.login(LECTURER).await;
    // A class list in two parts: the second adds rows.
    let part1 = format!(
        "Matric No,CA,Exam\n{},30,45\n{},20,30\n",
        STUDENTS[0], STUDENTS[1]
    );
    let part2 = format!("Matric No,CA,Exam\n{},10,20\n", STUDENTS[2]);
    let first = judged(&app, &lecturer, &part1, "replace").await;
    assert_eq!(first["status"], "processed", "{first}");
    let second = judged(&app, &lecturer, &part2, "add_rows").await;
    assert_eq!(second["status"], "processed", "{second}");
    assert_eq!(second["mode"], "add_rows", "{second}");
    assert_eq!(second["changes"]["added"], 1, "{second}");
    assert_eq!(
        course_totals(&app, &lecturer).await,
        vec![
            (STUDENTS[0].to_string(), 75.0),
            (STUDENTS[1].to_string(), 50.0),
            (STUDENTS[2].to_string(), 30.0)
        ]
    );

    // A corrected whole list (with everyone) supersedes both parts...
    let corrected = format!(
        "Matric No,CA,Exam\n{},35,45\n{},20,30\n{},10,20\n",
        STUDENTS[0], STUDENTS[1], STUDENTS[2]
    );
    let third = judged(&app, &lecturer, &corrected, "replace").await;
    assert_eq!(third["status"], "processed", "{third}");
    assert_eq!(course_totals(&app, &lecturer).await[0].1, 80.0);
    // ...then another list supersedes it, and the corrected file uploaded again is current
    // again.
    let everyone_before = format!(
        "Matric No,CA,Exam\n{},30,45\n{},20,30\n{},10,20\n",
        STUDENTS[0], STUDENTS[1], STUDENTS[2]
    );
    let again = judged(&app, &lecturer, &everyone_before, "replace").await;
    assert_eq!(again["status"], "processed", "{again}");
    assert_eq!(course_totals(&app, &lecturer).await[0].1, 75.0);
    let reupload = judged(&app, &lecturer, &corrected, "replace").await;
    assert_ne!(
        reupload["id"], third["id"],
        "a new sheet, not the superseded one"
    );
    assert_eq!(reupload["status"], "processed", "{reupload}");
    assert_eq!(course_totals(&app, &lecturer).await[0].1, 80.0);

    // A mode that does not exist is refused with the choices.
    let res = app
        .request(
            reqwest::Method::POST,
            &format!(
                "/api/v1/score-sheets?course={}&session=2024-2025&semester=first&mode=append",
                CSC201.0
            ),
            Some(&lecturer),
        )
        .header("content-type", "text/csv")
        .body(part1)
        .send()
        .await
        .unwrap();
    let p = problem(res, StatusCode::BAD_REQUEST).await;
    assert!(p.to_string().contains("add_rows"), "{p}");
}
