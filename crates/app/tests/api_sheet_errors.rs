//! A sheet's row errors are bounded in what is stored and in what one answer lists: a bad
//! cell is kept as a short excerpt, and `GET /api/v1/score-sheets/{id}` lists the errors a
//! page at a time (`errors_offset`, `errors_limit`) with their total and the next page's URL.

mod common;

use common::university::{CSC201, LECTURER, STUDENTS};
use common::{json, problem, spawn_app};
use reqwest::StatusCode;

#[tokio::test]
async fn row_errors_are_excerpted_and_listed_a_page_at_a_time() {
    let app = spawn_app().await;
    let lecturer = app.login(LECTURER).await;
    // Row 2 is good; row 3 has a 5000-character matric cell; rows 4..=253 name nobody.
    let mut csv = format!("Matric No,CA,Exam\n{},30,45\n", STUDENTS[0]);
    csv.push_str(&format!("{},30,45\n", "X".repeat(5000)));
    for i in 0..250 {
        csv.push_str(&format!("SCI/1999/{i:04},30,45\n"));
    }
    let (status, body) = app.upload_csv(&lecturer, CSC201.0, &csv).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let id = body["id"].as_i64().unwrap();
    let first = app.wait_processed(&lecturer, id).await;
    assert_eq!(first["status"], "processed", "{first}");
    assert_eq!(first["rows_rejected"], 251);
    assert_eq!(first["row_errors_total"], 251);
    assert_eq!(first["row_errors_offset"], 0);
    let errors = first["row_errors"].as_array().unwrap();
    assert_eq!(errors.len(), 100, "the default page");

    // The long cell is kept as its first 40 characters and an ellipsis, in both places.
    let long = &errors[0];
    let excerpt = format!("{}…", "X".repeat(40));
    assert_eq!(long["row"], 3);
    assert_eq!(long["matric"], excerpt.as_str());
    assert_eq!(
        long["message"],
        format!("row 3: matric number '{excerpt}' is longer than 32 characters").as_str()
    );

    // Following the next links visits every error once, in row order.
    let mut rows: Vec<u64> = Vec::new();
    let mut next = Some(format!("/api/v1/score-sheets/{id}?errors_limit=120"));
    let mut pages = 0;
    while let Some(url) = next {
        let (status, page) = json(app.get(&url, Some(&lecturer)).await).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert_eq!(page["row_errors_total"], 251);
        rows.extend(
            page["row_errors"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["row"].as_u64().unwrap()),
        );
        next = page["row_errors_next"].as_str().map(str::to_string);
        pages += 1;
    }
    assert_eq!(pages, 3, "120 + 120 + 11");
    assert_eq!(rows, (3..=253).collect::<Vec<u64>>());

    // Past the end: an empty page, still with the total.
    let (_, beyond) = json(
        app.get(
            &format!("/api/v1/score-sheets/{id}?errors_offset=1000"),
            Some(&lecturer),
        )
        .await,
    )
    .await;
    assert_eq!(beyond["row_errors"].as_array().map(Vec::len), Some(0));
    assert_eq!(beyond["row_errors_next"], serde_json::Value::Null);

    // A page size out of bounds is named.
    let p = problem(
        app.get(
            &format!("/api/v1/score-sheets/{id}?errors_limit=501"),
            Some(&lecturer),
        )
        .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(
        p.to_string()
            .contains("'501' should be a whole number from 1 to 500"),
        "{p}"
    );
}
