//! The lecturer's pages over HTTP, as a browser uses them (cookies, CSRF fields, multipart
//! uploads): My courses lists the allocated courses with where each result stands; the course
//! page shows the class, the templates hold it; the upload form records a sheet and its page
//! lists the rejected rows by row number, 100 at a time, refreshing itself while the sheet
//! waits; "Submit for review" moves the result on, and what the service refuses is shown on
//! the course page. What these pages refuse is in `pages_lecturer_refusals.rs`.

mod browser;
mod common;

use browser::lecturer::{row_with, text_of_cells};
use browser::{Browser, Part};
use common::courses::{course_url, moves_to, sheet, upload_processed};
use common::university::{CSC201, HOD, LECTURER, MTH201, OTHER_LECTURER, STUDENTS};
use common::{json, spawn_app, spawn_app_with, TestApp, PASSWORD};
use reqwest::StatusCode;

const COURSE: &str = "/courses/CSC201/2024-2025/first";

async fn signed_in(app: &TestApp, who: &str) -> Browser {
    Browser::signed_in(&app.base, who, PASSWORD).await
}

#[tokio::test]
async fn my_courses_lists_both_courses_by_term_with_where_each_result_stands() {
    let app = spawn_app().await;
    let mut b = signed_in(&app, LECTURER).await;
    let page = b.get("/courses").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("<h1>My courses</h1>"), "{}", page.body);
    assert!(
        page.body
            .contains("<h2>2024/2025 session, first semester</h2>"),
        "{}",
        page.body
    );
    for (code, title, units) in [
        ("CSC 201", "Data Structures", CSC201.1),
        ("MTH 201", "Linear Algebra", MTH201.1),
    ] {
        let row = text_of_cells(row_with(&page.body, code));
        assert_eq!(
            row,
            format!("{code} {title} {units} 3 draft none yet"),
            "{code}"
        );
    }
    assert!(page
        .body
        .contains(&format!("<a href=\"{COURSE}\">CSC 201</a>")));

    // CSC 201 submitted, then returned by the HOD with a reason: the list says so.
    let lecturer = app.login(LECTURER).await;
    let id = upload_processed(&app, &lecturer, CSC201.0).await;
    moves_to(&app, &lecturer, CSC201.0, "submit", "submitted").await;
    let page = b.get("/courses").await;
    let row = text_of_cells(row_with(&page.body, "CSC 201"));
    assert!(
        row.ends_with(&format!("submitted for review sheet {id}, processed")),
        "{row}"
    );
    assert!(page.body.contains(&format!(
        "<a href=\"/sheets/{id}\">sheet {id}, processed</a>"
    )));

    let hod = app.login(HOD).await;
    let res = app
        .post_json(
            &course_url(CSC201.0, "return"),
            Some(&hod),
            &serde_json::json!({ "reason": "Row 4 has the wrong exam score" }),
        )
        .await;
    let (status, body) = json(res).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let page = b.get("/courses").await;
    let row = text_of_cells(row_with(&page.body, "CSC 201"));
    assert!(
        row.contains("returned: Row 4 has the wrong exam score"),
        "{row}"
    );
    let mth = text_of_cells(row_with(&page.body, "MTH 201"));
    assert!(mth.contains(" draft "), "{mth}");

    // Someone allocated to nothing has an empty list, said in words.
    let mut other = signed_in(&app, OTHER_LECTURER).await;
    let page = other.get("/courses").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("No courses are allocated to you"));
    assert!(!page.body.contains("CSC 201"));
}

#[tokio::test]
async fn the_course_page_shows_the_class_and_the_templates_hold_it() {
    let app = spawn_app().await;
    let mut b = signed_in(&app, LECTURER).await;
    let page = b.get(COURSE).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("<h1>CSC 201 Data Structures</h1>"));
    assert!(page.body.contains("<dd id=\"state\">draft</dd>"));
    for (i, (m, name)) in STUDENTS
        .iter()
        .zip(["Obi, Ada", "Ade, Bola", "Eze, Chidi"])
        .enumerate()
    {
        let row = text_of_cells(row_with(&page.body, &format!(">{m}<")));
        assert_eq!(row, format!("{} {m} {name}", i + 1));
    }
    assert!(page.body.contains("(3 registered)"));
    assert!(page.body.contains("No sheet has been uploaded"));
    // The upload form: multipart, the token before the file, a labelled file field.
    let form = &page.body[page
        .body
        .find("id=\"upload-form\"")
        .expect("an upload form")..];
    let (csrf_at, file_at) = (
        form.find("name=\"csrf\"").unwrap(),
        form.find("name=\"file\"").unwrap(),
    );
    assert!(csrf_at < file_at);
    assert!(page.body.contains("enctype=\"multipart/form-data\""));
    assert!(page.body.contains("<label for=\"file\">"));
    assert!(page.body.contains("id=\"submit-form\""));

    let csv = b.get(&format!("{COURSE}/template.csv")).await;
    assert_eq!(csv.status, StatusCode::OK, "{}", csv.body);
    assert_eq!(csv.header("content-type"), "text/csv; charset=utf-8");
    assert_eq!(
        csv.header("content-disposition"),
        "attachment; filename=\"CSC201_2024-2025_first_scores.csv\""
    );
    assert_eq!(csv.header("cache-control"), "private, no-store");
    let lines: Vec<&str> = csv.body.lines().collect();
    assert_eq!(lines[0], "S/N,Matric No,Name,CA (40),Exam (60)");
    assert_eq!(lines.len(), 4, "{}", csv.body);
    for (i, m) in STUDENTS.iter().enumerate() {
        assert!(
            lines[i + 1].starts_with(&format!("{},{m},", i + 1)),
            "{}",
            lines[i + 1]
        );
    }

    let xlsx = b.get(&format!("{COURSE}/template.xlsx")).await;
    assert_eq!(xlsx.status, StatusCode::OK);
    assert_eq!(
        xlsx.header("content-disposition"),
        "attachment; filename=\"CSC201_2024-2025_first_scores.xlsx\""
    );
    assert!(xlsx.body.starts_with("PK"), "not a zip");

    // An address that names no course term is a 404 page saying why.
    let bad = b.get("/courses/CSC201/2024-2026/third").await;
    assert_eq!(bad.status, StatusCode::NOT_FOUND);
    assert!(
        bad.body.contains("does not name a course in a term"),
        "{}",
        bad.body
    );
    // Signed out, the course page sends the visitor to sign in and back.
    let mut anon = Browser::new(&app.base);
    let res = anon.get(COURSE).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(
        res.location(),
        Some("/login?next=/courses/CSC201/2024-2025/first")
    );
}

/// The sheets of CSC 201 as the API lists them.
#[tokio::test]
async fn the_sheet_page_lists_rejected_rows_by_row_number_a_hundred_at_a_time() {
    let app = spawn_app().await;
    let mut b = signed_in(&app, LECTURER).await;
    // Row 1 is the header: rows 3 (exam 95) and 4 (an unknown student) are wrong, then 150
    // more unknown students (rows 6 to 155), with long names: the file is over the pages'
    // 16 KB form limit, which the upload does not have.
    let mut csv = format!(
        "Matric No,Name,CA,Exam\n{},A,30,45\n{},B,25,95\nSCI/2021/0999,C,20,30\n{},D,10,20\n",
        STUDENTS[0], STUDENTS[1], STUDENTS[2]
    );
    for n in 0..150 {
        let name = format!("Student {n} {}", "long-name ".repeat(12));
        csv.push_str(&format!("SCI/2020/{:04},{name},10,10\n", 1000 + n));
    }
    assert!(csv.len() > 20 * 1024, "{}", csv.len());
    let res = b.upload_sheet(COURSE, &csv).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let sheet_page = res.location().unwrap().to_string();
    let page = b.when_sheet_done(&sheet_page).await;
    assert!(page.body.contains("<dd id=\"status\">processed</dd>"));
    assert!(
        page.body.contains("<dd id=\"rows-accepted\">2</dd>"),
        "{}",
        page.body
    );
    assert!(page.body.contains("<dd id=\"rows-rejected\">152</dd>"));
    assert!(page.body.contains("Rows 1 to 100 of the 152 rejected rows"));

    let row3 = text_of_cells(row_with(&page.body, "<th scope=\"row\" class=\"num\">3<"));
    assert_eq!(
        row3,
        format!(
            "3 {} Exam score 95 is above the maximum of 60.",
            STUDENTS[1]
        )
    );
    let row4 = text_of_cells(row_with(&page.body, "<th scope=\"row\" class=\"num\">4<"));
    assert!(
        row4.starts_with("4 SCI/2021/0999 No student has the matric number SCI/2021/0999"),
        "{row4}"
    );
    assert_eq!(page.body.matches("<th scope=\"row\"").count(), 100);
    let next = format!("{sheet_page}?errors_offset=100");
    assert!(
        page.body.contains(&format!("href=\"{next}\"")),
        "{}",
        page.body
    );

    let page = b.get(&next).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page
        .body
        .contains("Rows 101 to 152 of the 152 rejected rows"));
    assert_eq!(page.body.matches("<th scope=\"row\"").count(), 52);
    assert!(page.body.contains("SCI/2020/1149"));
    assert!(!page.body.contains("Next 100 rows"));
    assert!(page
        .body
        .contains(&format!("href=\"{sheet_page}?errors_offset=0\"")));
    let bad = b.get(&format!("{sheet_page}?errors_offset=many")).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);

    // The course page's history lists the sheet with its counts, linked to its page.
    let course = b.get(COURSE).await;
    let row = text_of_cells(row_with(&course.body, &format!("href=\"{sheet_page}\"")));
    assert!(
        row.contains("Dr. Lecturer One scores.csv processed 2 152"),
        "{row}"
    );

    // Another lecturer cannot read the sheet: it does not exist for them.
    let mut other = signed_in(&app, OTHER_LECTURER).await;
    assert_eq!(other.get(&sheet_page).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_waiting_sheet_refreshes_itself_and_a_rejected_one_says_why() {
    // A portal with no worker: the sheet waits.
    let app = spawn_app_with(|c| c.role = eportal::config::ProcessRole::Portal).await;
    let mut b = signed_in(&app, LECTURER).await;
    let res = b.upload_sheet(COURSE, &sheet()).await;
    let sheet_page = res.location().unwrap().to_string();
    let page = b.get(&sheet_page).await;
    assert_eq!(page.status, StatusCode::OK);
    let head = &page.body[..page.body.find("</head>").unwrap()];
    assert!(
        head.contains("<meta http-equiv=\"refresh\" content=\"2\">"),
        "{head}"
    );
    assert!(page.body.contains("waiting to be processed"));
    assert!(page.body.contains("refreshes itself every 2 seconds"));
    assert!(!page.body.contains("<script"));
    // Pages that are not waiting do not refresh.
    assert!(!b.get(COURSE).await.body.contains("http-equiv"));

    let app = spawn_app().await;
    let mut b = signed_in(&app, LECTURER).await;
    let res = b
        .upload_sheet(COURSE, "just some words\nwith no header row\n")
        .await;
    let page = b.when_sheet_done(res.location().unwrap()).await;
    assert!(
        page.body.contains("<dd id=\"status\">rejected</dd>"),
        "{}",
        page.body
    );
    assert!(page.body.contains("id=\"failure\""), "{}", page.body);
    assert!(!page.body.contains("id=\"counts\""));
}

#[tokio::test]
async fn submitting_moves_the_result_on_and_a_refusal_is_shown_on_the_course_page() {
    let app = spawn_app().await;
    let mut b = signed_in(&app, LECTURER).await;

    // Nothing processed yet: the service refuses, and the page says so.
    let csrf = b.get(COURSE).await.csrf();
    let res = b
        .post(&format!("{COURSE}/submit"), &[("csrf", &csrf)])
        .await;
    assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.body);
    assert!(res.body.contains("id=\"course-error\""));
    assert!(
        res.body.contains("has no processed score sheet"),
        "{}",
        res.body
    );
    assert!(res.body.contains("<dd id=\"state\">draft</dd>"));

    let res = b.upload_sheet(COURSE, &sheet()).await;
    b.when_sheet_done(res.location().unwrap()).await;
    let res = b
        .post(&format!("{COURSE}/submit"), &[("csrf", &csrf)])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(
        res.location(),
        Some(format!("{COURSE}?submitted=1").as_str())
    );
    let page = b.get(res.location().unwrap()).await;
    assert!(page
        .body
        .contains("<dd id=\"state\">submitted for review</dd>"));
    assert!(page.body.contains("has been submitted for review"));
    assert!(!page.body.contains("id=\"upload-form\""));
    assert!(!page.body.contains("id=\"submit-form\""));
    assert!(page.body.contains("id=\"uploads-closed\""));

    // The API sees the same state.
    let token = app.login(LECTURER).await;
    let (_, body) = json(app.get(&course_url(CSC201.0, ""), Some(&token)).await).await;
    assert_eq!(body["state"], "submitted");

    // A form kept open from before: the service refuses a second submit, and an upload.
    let res = b
        .post(&format!("{COURSE}/submit"), &[("csrf", &csrf)])
        .await;
    assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.body);
    assert!(res.body.contains("id=\"course-error\""));
    let res = b
        .post_parts(
            &format!("{COURSE}/sheets"),
            vec![
                Part::Text("csrf", &csrf),
                Part::File("file", "new.csv", sheet().replace("45", "50").into_bytes()),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.body);
    assert!(
        res.body
            .contains("must be returned to you before its scores can change"),
        "{}",
        res.body
    );
}
