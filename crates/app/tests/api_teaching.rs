//! What a lecturer's pages read, over HTTP: my courses by term, a course's class list, the
//! score-sheet template (CSV and XLSX, filled in here and uploaded back), and the history of
//! the course's sheets; and who is refused each (a lecturer of other courses, a student, an
//! HOD or dean of another department or faculty).

mod common;

use common::courses::{course_url, upload_processed};
use common::university::{
    ADMIN, ARTS_DEAN, CSC201, DEAN, HOD, LECTURER, MTH201, MTH_HOD, OTHER_LECTURER, STUDENTS,
};
use common::{json, problem, spawn_app, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::io::{Read, Write};

/// The seeded students as a class list names them ("Surname, First name"), by matric number.
const NAMES: [&str; 3] = ["Obi, Ada", "Ade, Bola", "Eze, Chidi"];

fn url(code: &str, what: &str) -> String {
    course_url(code, what)
}

async fn get_ok(app: &TestApp, token: &str, path: &str) -> Value {
    let (status, body) = json(app.get(path, Some(token)).await).await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    body
}

/// The CA and exam of each student in the course result, as the reviewers see them.
async fn recorded_scores(app: &TestApp, token: &str) -> Vec<(String, String, String)> {
    let body = get_ok(app, token, &url(CSC201.0, "")).await;
    let mut out: Vec<(String, String, String)> = body["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["matric_no"].as_str().unwrap().to_string(),
                r["ca"].to_string(),
                r["exam"].to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

/// The scores filled into the templates: (CA, exam) per student, in class-list order.
const FILLED: [(&str, &str); 3] = [("30", "45"), ("25.5", "30"), ("10", "20")];

fn expected_scores() -> Vec<(String, String, String)> {
    STUDENTS
        .iter()
        .zip(FILLED)
        .map(|(m, (ca, exam))| (m.to_string(), ca.to_string(), exam.to_string()))
        .collect()
}

#[tokio::test]
async fn my_courses_lists_the_allocated_courses_by_term_with_their_state() {
    let app = spawn_app().await;
    let lecturer = app.login(LECTURER).await;

    let body = get_ok(&app, &lecturer, "/api/v1/me/courses").await;
    let courses = body["courses"].as_array().unwrap();
    let codes: Vec<&str> = courses
        .iter()
        .map(|c| c["course"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["CSC 201", "MTH 201"], "{body}");
    let csc = &courses[0];
    assert_eq!(csc["title"], "Data Structures");
    assert_eq!(csc["units"], CSC201.1);
    assert_eq!(csc["department"]["code"], "CSC");
    assert_eq!(csc["department"]["name"], "Computer Science");
    assert_eq!(csc["session"], "2024/2025");
    assert_eq!(csc["semester"], "first");
    assert_eq!(csc["state"], "draft");
    assert!(csc["latest_sheet"].is_null(), "{csc}");
    assert_eq!(csc["class_list_url"], url(CSC201.0, "class-list"));
    assert_eq!(courses[1]["title"], "Linear Algebra");
    assert_eq!(courses[1]["units"], MTH201.1);
    assert_eq!(courses[1]["department"]["name"], "Mathematics");

    // A sheet processed and the result submitted: both show in the list.
    let id = upload_processed(&app, &lecturer, CSC201.0).await;
    common::courses::moves_to(&app, &lecturer, CSC201.0, "submit", "submitted").await;
    let body = get_ok(&app, &lecturer, "/api/v1/me/courses?session=2024-2025").await;
    let csc = &body["courses"][0];
    assert_eq!(csc["course"], "CSC 201");
    assert_eq!(csc["state"], "submitted");
    assert_eq!(csc["latest_sheet"]["id"], id);
    assert_eq!(csc["latest_sheet"]["status"], "processed");
    assert_eq!(
        csc["latest_sheet"]["status_url"],
        format!("/api/v1/score-sheets/{id}")
    );
    assert_eq!(body["courses"][1]["state"], "draft");

    // Filters: a term the lecturer teaches nothing in is an empty list.
    for q in [
        "semester=second",
        "session=2023-2024",
        "session=2024/2025&semester=2",
    ] {
        let body = get_ok(&app, &lecturer, &format!("/api/v1/me/courses?{q}")).await;
        assert_eq!(body["courses"], serde_json::json!([]), "{q}");
    }
    let body = get_ok(&app, &lecturer, "/api/v1/me/courses?semester=1").await;
    assert_eq!(body["courses"].as_array().unwrap().len(), 2);

    let bad = problem(
        app.get(
            "/api/v1/me/courses?session=2024-2026&semester=third",
            Some(&lecturer),
        )
        .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    let names: Vec<&str> = bad["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["session", "semester"], "{bad}");

    // Someone allocated to nothing, and a reviewer, teach nothing.
    for who in [OTHER_LECTURER, DEAN] {
        let token = app.login(who).await;
        let body = get_ok(&app, &token, "/api/v1/me/courses").await;
        assert_eq!(body["courses"], serde_json::json!([]), "{who}");
    }
    problem(
        app.get("/api/v1/me/courses", None).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
}

#[tokio::test]
async fn the_class_list_is_for_the_lecturer_and_the_reviewers_in_scope() {
    let app = spawn_app().await;
    let lecturer = app.login(LECTURER).await;
    let body = get_ok(&app, &lecturer, &url(CSC201.0, "class-list")).await;
    assert_eq!(body["course"], "CSC 201");
    assert_eq!(body["title"], "Data Structures");
    assert_eq!(body["count"], 3);
    let students = body["students"].as_array().unwrap();
    for (i, s) in students.iter().enumerate() {
        assert_eq!(s["matric_no"], STUDENTS[i], "{body}");
        assert_eq!(s["name"], NAMES[i], "{body}");
        assert_eq!(s["level"], 200);
        assert_eq!(s["programme"], "CSC");
    }

    for who in [HOD, DEAN, ADMIN] {
        let token = app.login(who).await;
        let body = get_ok(&app, &token, &url(CSC201.0, "class-list")).await;
        assert_eq!(body["count"], 3, "{who}");
    }
    // The Mathematics HOD reviews MTH 201 but not CSC 201.
    let mth_hod = app.login(MTH_HOD).await;
    get_ok(&app, &mth_hod, &url(MTH201.0, "class-list")).await;
    for who in [OTHER_LECTURER, STUDENTS[0], MTH_HOD, ARTS_DEAN] {
        let token = app.login(who).await;
        let p = problem(
            app.get(&url(CSC201.0, "class-list"), Some(&token)).await,
            StatusCode::FORBIDDEN,
        )
        .await;
        assert!(
            !p.to_string().contains(STUDENTS[1]),
            "a refusal names no student: {p}"
        );
    }

    // A term the course is not taught in: its HOD learns there is no class then; the
    // lecturer, allocated only to the first semester, has no part in it.
    let second = "/api/v1/course-results/CSC201/2024-2025/second/class-list";
    let hod = app.login(HOD).await;
    problem(app.get(second, Some(&hod)).await, StatusCode::NOT_FOUND).await;
    problem(
        app.get(second, Some(&lecturer)).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    // A course that does not exist.
    problem(
        app.get(&url("XYZ999", "class-list"), Some(&lecturer)).await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

/// Downloads the template in `format`; checks its headers and returns its bytes.
async fn download(app: &TestApp, token: &str, format: &str, content_type: &str) -> Vec<u8> {
    let res = app
        .get(
            &format!("{}?format={format}", url(CSC201.0, "template")),
            Some(token),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let header = |name: &str| {
        res.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    assert_eq!(header("content-type"), content_type);
    assert_eq!(
        header("content-disposition"),
        format!("attachment; filename=\"CSC201_2024-2025_first_scores.{format}\"")
    );
    res.bytes().await.unwrap().to_vec()
}

#[tokio::test]
async fn a_csv_template_filled_in_is_processed_with_those_scores() {
    let app = spawn_app().await;
    let lecturer = app.login(LECTURER).await;
    let bytes = download(&app, &lecturer, "csv", "text/csv; charset=utf-8").await;
    let text = String::from_utf8(bytes).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "S/N,Matric No,Name,CA (40),Exam (60)");
    assert_eq!(lines.len(), 4, "{text}");

    // The lecturer types the scores into the two empty columns.
    let mut filled = format!("{}\n", lines[0]);
    for (i, line) in lines[1..].iter().enumerate() {
        assert_eq!(
            *line,
            format!("{},{},\"{}\",,", i + 1, STUDENTS[i], NAMES[i])
        );
        let (ca, exam) = FILLED[i];
        let name_part = line.strip_suffix(",,").unwrap();
        filled.push_str(&format!("{name_part},{ca},{exam}\n"));
    }
    let id = app
        .upload_accepted(&lecturer, CSC201.0, "text/csv", filled.clone().into_bytes())
        .await;
    let sheet = app.wait_processed(&lecturer, id).await;
    assert_eq!(sheet["status"], "processed", "{sheet}\n{filled}");
    assert_eq!(sheet["rows_accepted"], 3, "{sheet}");
    assert_eq!(recorded_scores(&app, &lecturer).await, expected_scores());
}

/// Writes `value` into the empty cell `cell` of a worksheet's XML, as a number.
fn fill_cell(xml: &str, cell: &str, value: &str) -> String {
    let empty = format!(r#"<c r="{cell}"/>"#);
    assert!(xml.contains(&empty), "no empty cell {cell} in the template");
    xml.replace(&empty, &format!(r#"<c r="{cell}"><v>{value}</v></c>"#))
}

#[tokio::test]
async fn an_xlsx_template_filled_in_is_processed_with_those_scores() {
    let app = spawn_app().await;
    let lecturer = app.login(LECTURER).await;
    let xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
    let bytes = download(&app, &lecturer, "xlsx", xlsx).await;

    // Open the workbook, type the scores into its worksheet, and save it again.
    let mut book = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a zip archive");
    let mut parts = Vec::new();
    for i in 0..book.len() {
        let mut f = book.by_index(i).unwrap();
        let mut body = String::new();
        f.read_to_string(&mut body).unwrap();
        parts.push((f.name().unwrap().to_string(), body));
    }
    let names: Vec<&str> = parts.iter().map(|(n, _)| n.as_str()).collect();
    for needed in [
        "[Content_Types].xml",
        "xl/workbook.xml",
        "xl/worksheets/sheet1.xml",
    ] {
        assert!(names.contains(&needed), "{needed} missing from {names:?}");
    }
    let sheet = &mut parts
        .iter_mut()
        .find(|(n, _)| n == "xl/worksheets/sheet1.xml")
        .unwrap()
        .1;
    for header in ["S/N", "Matric No", "Name", "CA (40)", "Exam (60)"] {
        assert!(sheet.contains(&format!(">{header}</t>")), "{header}");
    }
    for (i, (ca, exam)) in FILLED.iter().enumerate() {
        let row = i + 2;
        assert!(sheet.contains(&format!(">{}</t>", STUDENTS[i])));
        assert!(sheet.contains(&format!(">{}</t>", NAMES[i])));
        *sheet = fill_cell(sheet, &format!("D{row}"), ca);
        *sheet = fill_cell(sheet, &format!("E{row}"), exam);
    }
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, body) in &parts {
        out.start_file(name.as_str(), zip::write::SimpleFileOptions::default())
            .unwrap();
        out.write_all(body.as_bytes()).unwrap();
    }
    let filled = out.finish().unwrap().into_inner();

    let id = app.upload_accepted(&lecturer, CSC201.0, xlsx, filled).await;
    let sheet = app.wait_processed(&lecturer, id).await;
    assert_eq!(sheet["status"], "processed", "{sheet}");
    assert_eq!(sheet["rows_accepted"], 3, "{sheet}");
    assert_eq!(recorded_scores(&app, &lecturer).await, expected_scores());
}

#[tokio::test]
async fn templates_are_refused_outside_scope_and_in_unknown_formats() {
    let app = spawn_app().await;
    let hod = app.login(HOD).await;
    // A reviewer in scope may download it too (to see what the lecturer was given).
    let bytes = download(&app, &hod, "csv", "text/csv; charset=utf-8").await;
    assert!(String::from_utf8(bytes).unwrap().contains(STUDENTS[2]));
    for who in [OTHER_LECTURER, STUDENTS[0], MTH_HOD] {
        let token = app.login(who).await;
        for format in ["csv", "xlsx"] {
            problem(
                app.get(
                    &format!("{}?format={format}", url(CSC201.0, "template")),
                    Some(&token),
                )
                .await,
                StatusCode::FORBIDDEN,
            )
            .await;
        }
    }
    // Without a token, nothing of a course is shown.
    for what in ["class-list", "template?format=xlsx", "sheets"] {
        problem(
            app.get(&url(CSC201.0, what), None).await,
            StatusCode::UNAUTHORIZED,
        )
        .await;
    }
    let lecturer = app.login(LECTURER).await;
    let p = problem(
        app.get(
            &format!("{}?format=pdf", url(CSC201.0, "template")),
            Some(&lecturer),
        )
        .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(p["errors"][0]["name"], "format", "{p}");
}

#[tokio::test]
async fn the_sheet_history_lists_every_upload_newest_first() {
    let app = spawn_app().await;
    let lecturer = app.login(LECTURER).await;
    let empty = get_ok(&app, &lecturer, &url(CSC201.0, "sheets")).await;
    assert_eq!(empty["sheets"], serde_json::json!([]));

    let first = upload_processed(&app, &lecturer, CSC201.0).await;
    // A second, different sheet (one student's exam corrected, one row bad).
    let csv = format!(
        "Matric No,CA,Exam\n{},30,50\n{},25,30\n{},10,99\n",
        STUDENTS[0], STUDENTS[1], STUDENTS[2]
    );
    let (status, body) = app.upload_csv(&lecturer, CSC201.0, &csv).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let second = body["id"].as_i64().unwrap();
    // Its bad row would take the third student's score away: held until confirmed.
    let held = app.wait_processed(&lecturer, second).await;
    assert_eq!(held["status"], "held", "{held}");
    let confirm = format!("/api/v1/score-sheets/{second}/confirm");
    let res = app.post_json(&confirm, Some(&lecturer), &json!({})).await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    app.wait_processed(&lecturer, second).await;

    for who in [LECTURER, HOD, DEAN] {
        let token = app.login(who).await;
        let body = get_ok(&app, &token, &url(CSC201.0, "sheets")).await;
        let sheets = body["sheets"].as_array().unwrap();
        let ids: Vec<i64> = sheets.iter().map(|s| s["id"].as_i64().unwrap()).collect();
        assert_eq!(ids, [second, first], "{who}: {body}");
        let newest = &sheets[0];
        assert_eq!(newest["status"], "processed", "{newest}");
        assert_eq!(
            (
                &newest["rows_total"],
                &newest["rows_accepted"],
                &newest["rows_rejected"]
            ),
            (&3.into(), &2.into(), &1.into()),
            "{newest}"
        );
        assert_eq!(sheets[1]["status"], "superseded", "{body}");
        assert_eq!(sheets[1]["superseded_by"], second, "{body}");
        assert!(newest["superseded_by"].is_null(), "{newest}");
        assert_eq!(sheets[1]["rows_accepted"], 3);
        for s in sheets {
            assert_eq!(s["uploaded_by"], LECTURER);
            assert_eq!(s["uploaded_by_name"], "Dr. Lecturer One");
            assert_eq!(s["status_url"], format!("/api/v1/score-sheets/{}", s["id"]));
            assert!(s["uploaded_at_ms"].as_i64().unwrap() > 0);
        }
        assert!(
            sheets[0]["uploaded_at_ms"].as_i64() >= sheets[1]["uploaded_at_ms"].as_i64(),
            "{body}"
        );
    }
    for who in [OTHER_LECTURER, STUDENTS[0], MTH_HOD, ARTS_DEAN] {
        let token = app.login(who).await;
        problem(
            app.get(&url(CSC201.0, "sheets"), Some(&token)).await,
            StatusCode::FORBIDDEN,
        )
        .await;
    }
}

#[tokio::test]
async fn my_courses_come_newest_term_first_and_each_term_has_its_own_class() {
    use eportal_core::model::{Allocation, Registration};
    use eportal_core::{AcademicSession, CourseCode, MatricNo, Semester};

    let app = spawn_app().await;
    // The lecturer also teaches CSC 201 in 2025/2026 (one student registered so far) and
    // MTH 201 in the second semester of 2024/2025.
    let store = &app.running.services.ports.store;
    let csc = CourseCode::parse(CSC201.0).unwrap();
    let mth = CourseCode::parse(MTH201.0).unwrap();
    let next = AcademicSession::new(2025).unwrap();
    let this = AcademicSession::new(2024).unwrap();
    let allocation = |code: &CourseCode, session, semester| Allocation {
        course_code: code.clone(),
        session,
        semester,
        staff_id: LECTURER.into(),
    };
    store
        .upsert_allocations(&[
            allocation(&csc, next, Semester::First),
            allocation(&mth, this, Semester::Second),
        ])
        .await
        .unwrap();
    store
        .upsert_registrations(&[Registration {
            matric_no: MatricNo::parse(STUDENTS[2]).unwrap(),
            course_code: csc.clone(),
            session: next,
            semester: Semester::First,
        }])
        .await
        .unwrap();

    let lecturer = app.login(LECTURER).await;
    let body = get_ok(&app, &lecturer, "/api/v1/me/courses").await;
    let terms: Vec<String> = body["courses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| format!("{} {} {}", c["session"], c["semester"], c["course"]).replace('"', ""))
        .collect();
    assert_eq!(
        terms,
        [
            "2025/2026 first CSC 201",
            "2024/2025 second MTH 201",
            "2024/2025 first CSC 201",
            "2024/2025 first MTH 201",
        ]
    );
    let body = get_ok(&app, &lecturer, "/api/v1/me/courses?session=2025-2026").await;
    assert_eq!(body["courses"].as_array().unwrap().len(), 1, "{body}");
    assert_eq!(
        body["courses"][0]["class_list_url"],
        "/api/v1/course-results/CSC201/2025-2026/first/class-list"
    );
    let body = get_ok(&app, &lecturer, "/api/v1/me/courses?semester=second").await;
    assert_eq!(body["courses"][0]["course"], "MTH 201", "{body}");

    let class = get_ok(
        &app,
        &lecturer,
        "/api/v1/course-results/CSC201/2025-2026/first/class-list",
    )
    .await;
    assert_eq!(class["count"], 1, "{class}");
    assert_eq!(class["students"][0]["matric_no"], STUDENTS[2]);
    assert_eq!(class["students"][0]["name"], NAMES[2]);
}
