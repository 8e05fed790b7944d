//! Transcripts and result slips that anyone can verify, end to end on the real engines: a
//! student's transcript PDF is read back with `pdftotext` and its courses, grades, totals,
//! GPAs, CGPA and class are the API's; its verification code checks out without signing in
//! (API and page), stops checking out once the student's published results change
//! (superseded), and says so when the registry revokes it; an unknown code is a 404; a
//! student cannot have another's transcript. A Windows-1252 name survives into the PDF.

mod browser;
mod common;

use browser::Browser;
use common::courses::{moves_to, publish, upload_processed};
use common::documents::{download, pdf_text};
use common::university::{ADMIN, CSC201, DEAN, LECTURER, MTH201, MTH_HOD, SENATE, STUDENTS};
use common::{json, path_matric, spawn_app, TestApp, PASSWORD};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// MTH 201 from an uploaded sheet to published (its HOD is the MTH HOD).
async fn publish_mth201(app: &TestApp) {
    let code = MTH201.0;
    let lecturer = app.login(LECTURER).await;
    upload_processed(app, &lecturer, code).await;
    moves_to(app, &lecturer, code, "submit", "submitted").await;
    moves_to(
        app,
        &app.login(MTH_HOD).await,
        code,
        "approve",
        "hod_approved",
    )
    .await;
    moves_to(
        app,
        &app.login(DEAN).await,
        code,
        "approve",
        "faculty_approved",
    )
    .await;
    let senate = app.login(SENATE).await;
    moves_to(app, &senate, code, "approve", "senate_approved").await;
    moves_to(app, &senate, code, "publish", "published").await;
}

fn grouped(code: &str) -> String {
    code.as_bytes()
        .chunks(4)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join("-")
}

async fn verify(app: &TestApp, code: &str) -> Value {
    let (status, body) = json(app.get(&format!("/api/v1/verify/{code}"), None).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

async fn verify_page(app: &TestApp, code: &str) -> (StatusCode, String) {
    let res = app
        .client
        .get(app.url(&format!("/verify/{code}")))
        .send()
        .await
        .unwrap();
    (res.status(), res.text().await.unwrap())
}

/// Every course, grade, total, semester GPA and CGPA, and the class, of `api` (the results
/// JSON) is in `text` (the transcript's), each course on one line with its own numbers.
fn assert_same_as_api(text: &str, api: &Value) {
    let semesters = api["semesters"].as_array().unwrap();
    assert!(!semesters.is_empty(), "{api}");
    for s in semesters {
        let heading = format!(
            "{} session, {} semester",
            s["session"].as_str().unwrap(),
            s["semester"].as_str().unwrap()
        );
        assert!(text.contains(&heading), "{heading} in:\n{text}");
        for c in s["courses"].as_array().unwrap() {
            let code = c["code"].as_str().unwrap();
            let line = text
                .lines()
                .find(|l| l.trim_start().starts_with(&format!("{code} ")))
                .unwrap_or_else(|| panic!("a line for {code} in:\n{text}"));
            let words: Vec<&str> = line.split_whitespace().collect();
            let n = words.len();
            assert_eq!(words[n - 1], c["points"].to_string(), "points: {line}");
            assert_eq!(words[n - 2], c["grade"].as_str().unwrap(), "grade: {line}");
            assert_eq!(words[n - 3], c["total"].to_string(), "total: {line}");
            assert_eq!(words[n - 4], c["exam"].to_string(), "exam: {line}");
            assert_eq!(words[n - 5], c["ca"].to_string(), "CA: {line}");
            assert_eq!(words[n - 6], c["units"].to_string(), "units: {line}");
            assert!(line.contains(c["title"].as_str().unwrap()), "title: {line}");
        }
        let footer = format!(
            "Units: {}    GPA: {}    CGPA: {}",
            s["units"],
            s["gpa"].as_str().unwrap(),
            s["cgpa"].as_str().unwrap()
        );
        let squeeze = |t: &str| t.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            squeeze(text).contains(&squeeze(&footer)),
            "{footer} in:\n{text}"
        );
    }
    let cgpa = format!("CGPA {}", api["cgpa"].as_str().unwrap());
    assert!(
        text.lines().any(|l| l
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .starts_with(&cgpa)),
        "{cgpa} in:\n{text}"
    );
    let class = api["class_of_degree"].as_str().expect("a class of degree");
    assert!(
        text.lines()
            .any(|l| l.contains("Class of degree") && l.contains(class)),
        "class {class} in:\n{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transcript_reads_back_as_the_api_says_and_verifies_until_superseded() {
    let app = spawn_app().await;
    let m = path_matric(STUDENTS[0]);
    // A name with letters of Windows-1252 beyond ASCII.
    let store = &app.running.services.ports.store;
    let matric = eportal_core::MatricNo::parse(STUDENTS[0]).unwrap();
    let mut student = store.student(&matric).await.unwrap().unwrap();
    student.first_name = "Adébáyo".into();
    student.surname = "Núñez-Obi".into();
    store.upsert_students(&[student]).await.unwrap();
    publish(&app, CSC201.0).await;

    let own = app.login(STUDENTS[0]).await;
    let (status, api) = json(
        app.get(&format!("/api/v1/students/{m}/results"), Some(&own))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{api}");
    assert_eq!(api["name"], "Adébáyo Núñez-Obi");

    let (code, pdf) = download(&app, &format!("/api/v1/students/{m}/transcript.pdf"), &own).await;
    let text = pdf_text(&pdf);
    assert!(text.contains("Academic transcript"), "{text}");
    assert!(
        text.contains("Adébáyo Núñez-Obi"),
        "the name as written:\n{text}"
    );
    assert!(text.contains(STUDENTS[0]), "{text}");
    assert!(
        text.contains(&grouped(&code)),
        "the code is printed:\n{text}"
    );
    assert!(
        text.contains(&format!("/verify/{}", grouped(&code))),
        "{text}"
    );
    assert_same_as_api(&text, &api);

    // Anyone may check it, without signing in; with or without dashes, in either case.
    let v = verify(&app, &grouped(&code)).await;
    assert_eq!(v["status"], "genuine", "{v}");
    assert_eq!(v["kind"], "transcript");
    assert_eq!(v["document"]["name"], "Adébáyo Núñez-Obi");
    assert_eq!(
        v["document"]["summary"]["class_of_degree"],
        api["class_of_degree"]
    );
    assert_eq!(
        verify(&app, &code.to_lowercase()).await["status"],
        "genuine"
    );
    let (status, page) = verify_page(&app, &grouped(&code)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("This document is genuine"), "{page}");
    assert!(page.contains("Adébáyo Núñez-Obi"), "{page}");
    assert!(
        !page.contains("Revoke this document"),
        "no revocation form for the public"
    );

    // A result slip of the semester.
    let (slip_code, slip) = download(
        &app,
        &format!("/api/v1/students/{m}/results/2024-2025/first/slip.pdf"),
        &own,
    )
    .await;
    let slip_text = pdf_text(&slip);
    assert!(slip_text.contains("Semester result slip"), "{slip_text}");
    assert!(slip_text.contains("CSC 201"), "{slip_text}");
    assert_eq!(verify(&app, &slip_code).await["status"], "genuine");
    let none = app
        .get(
            &format!("/api/v1/students/{m}/results/2023-2024/second/slip.pdf"),
            Some(&own),
        )
        .await;
    assert_eq!(none.status(), StatusCode::CONFLICT);

    // Not another student's; the registry may issue anyone's.
    let other = app.login(STUDENTS[1]).await;
    let refused = app
        .get(
            &format!("/api/v1/students/{m}/transcript.pdf"),
            Some(&other),
        )
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let admin = app.login(ADMIN).await;
    let (admin_code, _) = download(
        &app,
        &format!("/api/v1/students/{m}/transcript.pdf"),
        &admin,
    )
    .await;
    assert_ne!(admin_code, code, "each download is a new document");

    // The student's published results change: the documents no longer check out.
    publish_mth201(&app).await;
    let v = verify(&app, &code).await;
    assert_eq!(v["status"], "superseded", "{v}");
    assert!(v["changed_at_ms"].as_i64().is_some(), "{v}");
    assert_eq!(
        v["document"]["semesters"][0]["courses"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "what the document said, not what the records say now"
    );
    assert_eq!(verify(&app, &slip_code).await["status"], "superseded");
    let (_, page) = verify_page(&app, &code).await;
    assert!(
        page.contains("Superseded: the results this document shows have since changed"),
        "{page}"
    );
    assert!(page.contains("ask the student for a new one"), "{page}");
    // A new one says the new results.
    let (_, api) = json(
        app.get(&format!("/api/v1/students/{m}/results"), Some(&own))
            .await,
    )
    .await;
    let (fresh, pdf) = download(&app, &format!("/api/v1/students/{m}/transcript.pdf"), &own).await;
    assert_same_as_api(&pdf_text(&pdf), &api);
    assert!(pdf_text(&pdf).contains("MTH 201"));
    assert_eq!(verify(&app, &fresh).await["status"], "genuine");

    // The registry revokes it; a student may not.
    let path = format!("/api/v1/documents/{}/revoke", grouped(&fresh));
    let body = json!({ "reason": "issued in error" });
    let res = app.post_json(&path, Some(&own), &body).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = app
        .post_json(&path, Some(&admin), &json!({ "reason": " " }))
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let (status, v) = json(app.post_json(&path, Some(&admin), &body).await).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "revoked");
    assert_eq!(v["revoked_by"], ADMIN);
    assert_eq!(v["reason"], "issued in error");
    assert_eq!(verify(&app, &fresh).await["status"], "revoked");
    let (_, page) = verify_page(&app, &fresh).await;
    assert!(page.contains("Revoked on "), "{page}");
    assert!(page.contains("by admin: issued in error"), "{page}");

    // An unknown code, or something that is not a code, is a 404 (API and page).
    for unknown in ["0000-0000-0000-0000", "not-a-code"] {
        let res = app.get(&format!("/api/v1/verify/{unknown}"), None).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{unknown}");
        let (status, page) = verify_page(&app, unknown).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{unknown}");
        assert!(page.contains("No document has this code"), "{page}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_student_without_published_results_has_no_transcript_yet() {
    let app = spawn_app().await;
    let own = app.login(STUDENTS[2]).await;
    let res = app
        .get(
            &format!(
                "/api/v1/students/{}/transcript.pdf",
                path_matric(STUDENTS[2])
            ),
            Some(&own),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
}

/// The `href` of the first link whose tag contains `marker`.
fn href(html: &str, marker: &str) -> String {
    let at = html
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} in:\n{html}"));
    let tag_start = html[..at].rfind('<').unwrap();
    let tag = &html[tag_start..];
    let h = tag.find("href=\"").unwrap() + 6;
    tag[h..h + tag[h..].find('"').unwrap()].replace("&#x2f;", "/")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_offer_the_documents_and_the_registry_revokes_on_the_verify_page() {
    let app = spawn_app().await;
    publish(&app, CSC201.0).await;

    // The student's results page links the transcript and each semester's slip.
    let mut student = Browser::new(&app.base);
    student.sign_in(STUDENTS[0], PASSWORD).await;
    let results = student.get("/results").await;
    assert_eq!(results.status, StatusCode::OK);
    let transcript = href(&results.body, "id=\"transcript-pdf\"");
    assert_eq!(transcript, "/students/SCI%2F2021%2F0001/transcript.pdf");
    let pdf = student.get(&transcript).await;
    assert_eq!(pdf.status, StatusCode::OK, "{}", pdf.body);
    assert_eq!(pdf.header("content-type"), "application/pdf");
    assert_eq!(
        pdf.header("content-disposition"),
        "attachment; filename=\"transcript-SCI-2021-0001.pdf\""
    );
    let code = pdf.header("x-eportal-document-code").to_string();
    let slip = student
        .get(&href(&results.body, "class=\"slip-pdf\""))
        .await;
    assert_eq!(slip.status, StatusCode::OK, "{}", slip.body);
    assert_eq!(slip.header("content-type"), "application/pdf");
    // Not another student's.
    let mut other = Browser::new(&app.base);
    other.sign_in(STUDENTS[1], PASSWORD).await;
    assert_eq!(other.get(&transcript).await.status, StatusCode::FORBIDDEN);

    // Anyone checks it; the form to revoke is the registry administrator's alone.
    let mut public = Browser::new(&app.base);
    let page = public
        .get(&format!("/verify?code={}", code.to_lowercase()))
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    let page = public.get(page.location().unwrap()).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("data-status=\"genuine\""),
        "{}",
        page.body
    );
    assert!(!page.body.contains("Revoke this document"));

    // The registry finds the student, issues their transcript, and revokes a document.
    let mut registry = Browser::new(&app.base);
    registry.sign_in(ADMIN, PASSWORD).await;
    let view = registry
        .get(&format!(
            "/registry/students?matric={}",
            path_matric(STUDENTS[0])
        ))
        .await;
    assert_eq!(view.status, StatusCode::OK, "{}", view.body);
    let issued = registry
        .get(&href(&view.body, "id=\"transcript-pdf\""))
        .await;
    assert_eq!(issued.status, StatusCode::OK);
    let verify = format!("/verify/{}", grouped(&code));
    let page = registry.get(&verify).await;
    assert!(page.body.contains("Revoke this document"), "{}", page.body);
    let csrf = page.csrf();
    let done = registry
        .post(
            &format!("{verify}/revoke"),
            &[
                ("csrf", csrf.as_str()),
                ("reason", "replaced by a corrected copy"),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let page = public.get(&verify).await;
    assert!(
        page.body.contains("data-status=\"revoked\""),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("by admin: replaced by a corrected copy"),
        "{}",
        page.body
    );
}
