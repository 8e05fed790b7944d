//! The student's results page over HTTP: "no results published yet" before publication,
//! then each published course with CA, exam, total, grade, points and units, the semester's
//! GPA, the CGPA and the class of degree — values worked out by hand below, never by the
//! core — and never another student's data.

mod browser;
mod common;

use browser::{Browser, Page};
use common::university::{CSC201, DEAN, HOD, LECTURER, MTH201, MTH_HOD, SENATE, STUDENTS};
use common::{json, spawn_app, TestApp, PASSWORD};
use reqwest::StatusCode;
use serde_json::json;

/// (matric, CA, exam) rows of the two sheets.
const CSC_ROWS: [(&str, &str, &str); 3] = [
    (STUDENTS[0], "30", "45"),
    (STUDENTS[1], "25.5", "30"),
    (STUDENTS[2], "10", "20"),
];
const MTH_ROWS: [(&str, &str, &str); 3] = [
    (STUDENTS[0], "18", "29"),
    (STUDENTS[1], "35", "36"),
    (STUDENTS[2], "20", "22.5"),
];

async fn upload(app: &TestApp, token: &str, code: &str, rows: &[(&str, &str, &str)]) {
    let mut csv = String::from("Matric No,CA,Exam\n");
    for (m, ca, exam) in rows {
        csv.push_str(&format!("{m},{ca},{exam}\n"));
    }
    let (status, body) = app.upload_csv(token, code, &csv).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let done = app
        .wait_processed(token, body["id"].as_i64().unwrap())
        .await;
    assert_eq!(done["status"], "processed", "{done}");
}

/// Takes a course through every step to publication, as the API's workflow tests do.
async fn publish(app: &TestApp, code: &str, hod: &str) {
    let steps = [
        (LECTURER, "submit"),
        (hod, "approve"),
        (DEAN, "approve"),
        (SENATE, "approve"),
        (SENATE, "publish"),
    ];
    for (who, action) in steps {
        let token = app.login(who).await;
        let url = format!("/api/v1/course-results/{code}/2024-2025/first/{action}");
        let (status, body) = json(app.post_json(&url, Some(&token), &json!({})).await).await;
        assert_eq!(status, StatusCode::OK, "{action} {code} by {who}: {body}");
    }
}

/// The text of the cells of the table row headed `course` (tags stripped).
fn row(page: &Page, course: &str) -> Vec<String> {
    let head = format!("<th scope=\"row\">{course}</th>");
    let at = page
        .body
        .find(&head)
        .unwrap_or_else(|| panic!("no row for {course} in {}", page.body));
    let rest = &page.body[at + head.len()..];
    let line = &rest[..rest.find("</tr>").unwrap()];
    line.split("<td")
        .skip(1)
        .map(|cell| {
            let inner = &cell[cell.find('>').unwrap() + 1..];
            strip_tags(&inner[..inner.find("</td>").unwrap()])
        })
        .collect()
}

/// Text without its tags.
fn strip_tags(html: &str) -> String {
    let mut text = String::new();
    let mut in_tag = false;
    for ch in html.chars() {
        match ch {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    text.trim().to_string()
}

/// The text of the element with `id` (tags inside it stripped).
fn by_id(page: &Page, id: &str) -> String {
    let at = page
        .body
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id} in {}", page.body));
    let rest = &page.body[at..];
    let inner = &rest[rest.find('>').unwrap() + 1..];
    strip_tags(&inner[..inner.find("</dd>").unwrap()])
}

#[tokio::test]
async fn a_student_reads_their_published_results_and_nobody_elses() {
    let app = spawn_app().await;
    let mut ada = Browser::new(&app.base);
    ada.sign_in(STUDENTS[0], PASSWORD).await;
    let before = ada.get("/results").await;
    assert_eq!(before.status, StatusCode::OK, "{}", before.body);
    assert!(
        before
            .body
            .contains("No results have been published for you yet"),
        "{}",
        before.body
    );
    assert!(before.body.contains("SCI/2021/0001"), "{}", before.body);

    let lecturer = app.login(LECTURER).await;
    upload(&app, &lecturer, CSC201.0, &CSC_ROWS).await;
    upload(&app, &lecturer, MTH201.0, &MTH_ROWS).await;
    // Uploaded but not published: still nothing to see.
    let drafts = ada.get("/results").await;
    assert!(drafts
        .body
        .contains("No results have been published for you yet"));
    assert!(!drafts.body.contains("CSC 201"));

    publish(&app, CSC201.0, HOD).await;
    publish(&app, MTH201.0, MTH_HOD).await;
    assert_eq!((CSC201.1, MTH201.1), (3, 2), "the units worked with below");

    // Worked out by hand under the default five-point policy (totals rounded half up; A 70+
    // = 5, C 50+ = 3, D 45+ = 2; GPA = Σ units × points ÷ Σ units):
    //   Ada:  CSC 201 30 + 45 = 75 → A 5;  MTH 201 18 + 29 = 47 → D 2;  (15 + 4) / 5 = 3.80
    //   Bola: CSC 201 25.5 + 30 = 55.5 → C 3;  MTH 201 35 + 36 = 71 → A 5;  (9 + 10) / 5 = 3.80
    // 3.80 is in the Second Class Upper band (3.50 to 4.49).
    let page = ada.get("/results").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.body.contains("No results have been published"));
    assert!(
        page.body.contains("2024/2025 session, first semester"),
        "{}",
        page.body
    );
    assert_eq!(
        row(&page, "CSC 201"),
        ["Data Structures", "3", "30", "45", "75", "A", "5"]
    );
    assert_eq!(
        row(&page, "MTH 201"),
        ["Linear Algebra", "2", "18", "29", "47", "D", "2"]
    );
    assert!(
        page.body
            .contains("Units: 5 · GPA: <strong>3.80</strong> · CGPA: <strong>3.80</strong>"),
        "{}",
        page.body
    );
    assert!(by_id(&page, "cgpa").starts_with("3.80"));
    // Which policy, and which version of it, the figures were computed under.
    let store = &app.running.services.ports.store;
    let version = store.active_policy_version().await.unwrap();
    assert!(
        page.body.contains(&format!(
            "(out of 5, Nigerian 5-point scale, grading policy version {version})"
        )),
        "{}",
        page.body
    );
    assert_eq!(by_id(&page, "total-units"), "5");
    assert_eq!(by_id(&page, "class"), "Second Class Upper");

    let mut bola = Browser::new(&app.base);
    bola.sign_in(STUDENTS[1], PASSWORD).await;
    let theirs = bola.get("/results").await;
    assert_eq!(
        row(&theirs, "CSC 201"),
        // 55.5 is graded as 56 (a C) under the default rounding; the exact sum is beside it.
        ["Data Structures", "3", "25.5", "30", "56 (55.5)", "C", "3"]
    );
    assert_eq!(
        row(&theirs, "MTH 201"),
        ["Linear Algebra", "2", "35", "36", "71", "A", "5"]
    );
    // Nothing of Ada's is on Bola's page, and nothing of Bola's on Ada's.
    for (page, other_name, other_matric) in [
        (&theirs, "Ada Obi", STUDENTS[0]),
        (&page, "Bola Ade", STUDENTS[1]),
    ] {
        assert!(!page.body.contains(other_name), "{}", page.body);
        assert!(!page.body.contains(other_matric), "{}", page.body);
    }
    // The page takes no matric number: there is no address for someone else's results.
    let other = bola.get("/results?matric_no=SCI%2F2021%2F0001").await;
    assert!(!other.body.contains("Ada Obi"));
    assert_eq!(row(&other, "CSC 201")[2], "25.5");
}
