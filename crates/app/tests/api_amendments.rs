//! Amendments end to end, over HTTP with the real workers: a published result changes only
//! through an amendment — new scores with a reason, approved by each reviewer of the chain in
//! turn — and the student then sees the new score marked as amended, on the results and on
//! the transcript, with the old value kept in the course's history. A rejected amendment
//! changes nothing, a shorter chain is configurable, and every wrong request says why.

mod common;

use common::courses::{course_url, csc201_line, publish, publish_sheet};
use common::documents::{download, pdf_text};
use common::university::{ADMIN, CSC201, DEAN, HOD, LECTURER, OTHER_LECTURER, SENATE, STUDENTS};
use common::{json, path_matric, problem, spawn_app, spawn_app_with, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;

fn amendments_url() -> String {
    course_url(CSC201.0, "amendments")
}

/// The CSC 201 line of a student's published results.
async fn line(app: &TestApp, matric: &str) -> Value {
    csc201_line(app, matric).await.0
}

async fn decide(app: &TestApp, who: &str, id: i64, decision: Value) -> (StatusCode, Value) {
    let token = app.login(who).await;
    json(
        app.post_json(
            &format!("/api/v1/amendments/{id}/decision"),
            Some(&token),
            &decision,
        )
        .await,
    )
    .await
}

async fn amendment(app: &TestApp, token: &str, id: i64) -> Value {
    let (status, body) = json(
        app.get(&format!("/api/v1/amendments/{id}"), Some(token))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// Polls the amendment until its status is `want` (the workers apply it).
async fn wait_status(app: &TestApp, token: &str, id: i64, want: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let body = amendment(app, token, id).await;
        if body["status"] == want {
            return body;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "amendment {id} is not {want} after 30 s: {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Asks for an amendment of CSC201 as `who` with JSON `records`; returns (status, body).
async fn request(app: &TestApp, who: &str, reason: &str, records: Value) -> (StatusCode, Value) {
    let token = app.login(who).await;
    let body = json!({ "reason": reason, "records": records });
    json(app.post_json(&amendments_url(), Some(&token), &body).await).await
}

#[tokio::test]
async fn an_amendment_goes_through_the_chain_and_the_student_sees_the_new_score_marked() {
    let app = spawn_app().await;
    publish(&app, CSC201.0).await;
    let before = line(&app, STUDENTS[2]).await;
    assert_eq!(
        (before["total"].clone(), before["grade"].clone()),
        (json!(30), json!("F"))
    );
    assert_eq!(before["amended"], Value::Null);

    // The lecturer asks: student 3's exam was re-marked from 20 to 35.
    let (status, a) = request(
        &app,
        LECTURER,
        "script 14 was re-marked after the student's appeal",
        json!([{ "matric": STUDENTS[2], "ca": "10", "exam": "35" }]),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{a}");
    assert_eq!(a["status"], "pending", "{a}");
    assert_eq!(a["chain"], json!(["hod", "dean", "senate"]), "{a}");
    assert_eq!(a["requested_by"], LECTURER);
    let id = a["id"].as_i64().unwrap();

    // Checked by a worker and held: the reviewers see what it would change.
    let lecturer = app.login(LECTURER).await;
    let sheet = app
        .wait_processed(&lecturer, a["sheet_id"].as_i64().unwrap())
        .await;
    assert_eq!(sheet["status"], "held", "{sheet}");
    assert_eq!(sheet["changes"]["changed"], 1, "{sheet}");
    assert_eq!(
        sheet["changes"]["changed_matrics"],
        json!([STUDENTS[2]]),
        "{sheet}"
    );
    let detail = amendment(&app, &lecturer, id).await;
    assert_eq!(detail["waiting_for"], "hod", "{detail}");
    assert_eq!(
        line(&app, STUDENTS[2]).await["total"],
        30,
        "nothing changes yet"
    );

    // Only the reviewer of the step acts, never the one who asked.
    let (status, body) = decide(&app, DEAN, id, json!({"decision": "approve"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("waits for the HOD"),
        "{body}"
    );
    let (status, _) = decide(&app, LECTURER, id, json!({"decision": "approve"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // The HOD's list has it; then HOD, dean and senate approve in turn.
    let hod = app.login(HOD).await;
    let (_, list) = json(app.get("/api/v1/amendments", Some(&hod)).await).await;
    let ids: Vec<i64> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [id], "{list}");
    for (who, status) in [(HOD, "pending"), (DEAN, "pending"), (SENATE, "approved")] {
        let (code, body) = decide(&app, who, id, json!({"decision": "approve"})).await;
        assert_eq!(code, StatusCode::OK, "{who}: {body}");
        assert_eq!(body["status"], status, "{who}: {body}");
    }
    let (code, _) = decide(&app, SENATE, id, json!({"decision": "approve"})).await;
    assert_eq!(
        code,
        StatusCode::CONFLICT,
        "a decided amendment takes no more"
    );

    // Applied by the workers: the student sees the new score, marked with the date.
    let done = wait_status(&app, &lecturer, id, "applied").await;
    let approvers: Vec<&str> = done["approvals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["by"].as_str().unwrap())
        .collect();
    assert_eq!(approvers, [HOD, DEAN, SENATE]);
    let after = line(&app, STUDENTS[2]).await;
    assert_eq!(
        (after["total"].clone(), after["grade"].clone()),
        (json!(45), json!("D")),
        "{after}"
    );
    assert_eq!(after["amended"]["amendment_id"], id, "{after}");
    let on = after["amended"]["on"]
        .as_str()
        .expect("the date")
        .to_string();
    assert_eq!(on.len(), 10, "a date: {on}");
    assert_eq!(
        line(&app, STUDENTS[0]).await["amended"],
        Value::Null,
        "others unmarked"
    );

    // The course's history keeps the old score; the current record is marked.
    let (_, course) = json(app.get(&course_url(CSC201.0, ""), Some(&lecturer)).await).await;
    let record = course["records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["matric_no"] == STUDENTS[2])
        .unwrap()
        .clone();
    assert_eq!(
        (
            record["version"].clone(),
            record["amended"]["amendment_id"].clone()
        ),
        (json!(2), json!(id)),
        "{record}"
    );
    let (_, all) = json(app.get(&amendments_url(), Some(&lecturer)).await).await;
    assert_eq!(all["items"][0]["status"], "applied", "{all}");

    // The transcript marks the score and says when.
    let student = app.login(STUDENTS[2]).await;
    let m = path_matric(STUDENTS[2]);
    let (_, pdf) = download(
        &app,
        &format!("/api/v1/students/{m}/transcript.pdf"),
        &student,
    )
    .await;
    let text = pdf_text(&pdf);
    assert!(text.contains("45*"), "the total is marked: {text}");
    assert!(
        text.contains(&format!("Amended after publication: CSC 201 on {on}"))
            || text.contains(&format!("Amended after publication: CSC201 on {on}")),
        "{text}"
    );
}

#[tokio::test]
async fn a_shorter_chain_a_rejection_and_every_wrong_request_say_why() {
    let app = spawn_app_with(|c| c.workflow.amendment_approvals = "senate".into()).await;
    let records = json!([{ "matric": STUDENTS[1], "ca": "25", "exam": "40" }]);

    // Before publication there is nothing to amend.
    let lecturer = app.login(LECTURER).await;
    let (status, body) = request(&app, LECTURER, "typo", records.clone()).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        body["detail"].as_str().unwrap().contains("not published"),
        "{body}"
    );
    publish_sheet(&app, CSC201.0, &common::courses::sheet()).await;

    // Wrong requests: no reason, no records, someone else's course, a student.
    let (status, body) = request(&app, LECTURER, "  ", records.clone()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body["detail"].as_str().unwrap().contains("give the reason"),
        "{body}"
    );
    let (status, body) = request(&app, LECTURER, "typo", json!([])).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, _) = request(&app, OTHER_LECTURER, "typo", records.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = request(&app, STUDENTS[1], "typo", records.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let res = app
        .request(reqwest::Method::POST, &amendments_url(), Some(&lecturer))
        .header("content-type", "text/plain")
        .body("x")
        .send()
        .await
        .unwrap();
    problem(res, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;

    // A sheet of the changed rows, as a file: a row with a bad matric is reported by row.
    let csv = format!(
        "Matric No,CA,Exam\n{},25,40\nNOT-A-MATRIC,1,1\n",
        STUDENTS[1]
    );
    let form = reqwest::multipart::Form::new()
        .text("reason", "marks of script 9 were added wrongly")
        .part(
            "file",
            reqwest::multipart::Part::bytes(csv.into_bytes()).file_name("fix.csv"),
        );
    let res = app
        .request(reqwest::Method::POST, &amendments_url(), Some(&lecturer))
        .multipart(form)
        .send()
        .await
        .unwrap();
    let (status, a) = json(res).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{a}");
    assert_eq!(a["chain"], json!(["senate"]), "{a}");
    let id = a["id"].as_i64().unwrap();
    let sheet = app
        .wait_processed(&lecturer, a["sheet_id"].as_i64().unwrap())
        .await;
    assert_eq!(sheet["status"], "held", "{sheet}");
    assert_eq!(sheet["rows_rejected"], 1, "{sheet}");
    assert_eq!(sheet["row_errors"][0]["row"], 3, "{sheet}");

    // Senate rejects it: a reason is needed; then nothing changes.
    let (status, body) = decide(&app, SENATE, id, json!({"decision": "reject"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) = decide(
        &app,
        SENATE,
        id,
        json!({"decision": "reject", "reason": "the appeal was dismissed"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "rejected", "{body}");
    assert_eq!(body["rejection"]["reason"], "the appeal was dismissed");
    let after_reject = app
        .wait_processed(&lecturer, a["sheet_id"].as_i64().unwrap())
        .await;
    assert_eq!(after_reject["status"], "rejected", "{after_reject}");
    assert_eq!(line(&app, STUDENTS[1]).await["total"], 55, "unchanged");

    // Asked again as records: senate alone approves, and it is applied.
    let (status, a) = request(&app, ADMIN, "the appeal was upheld on review", records).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{a}");
    let id = a["id"].as_i64().unwrap();
    let admin = app.login(ADMIN).await;
    let held = app
        .wait_processed(&admin, a["sheet_id"].as_i64().unwrap())
        .await;
    assert_eq!(held["status"], "held", "{held}");
    let (status, body) = decide(&app, SENATE, id, json!({"decision": "approve"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    wait_status(&app, &admin, id, "applied").await;
    let after = line(&app, STUDENTS[1]).await;
    assert_eq!(after["total"], 65, "{after}");
    assert_eq!(after["amended"]["amendment_id"], id, "{after}");
}

/// An HOD who teaches the course asks for an amendment: no HOD is free to take the HOD step,
/// so the dean takes it (`workflow.self_approval = "escalate"`, the default), and the
/// amendment goes on to senate.
#[tokio::test]
async fn the_dean_takes_the_step_of_an_hod_who_asked() {
    use eportal_core::model::Allocation;
    use eportal_core::{AcademicSession, CourseCode, Role, Semester};
    let app = spawn_app_with(|c| c.workflow.amendment_approvals = "hod,senate".into()).await;
    publish(&app, CSC201.0).await;
    let store = &app.running.services.ports.store;
    let mut hod = store.user(HOD).await.unwrap().expect("the HOD's account");
    hod.roles.push(Role::Lecturer);
    store.upsert_users(&[hod]).await.unwrap();
    store
        .upsert_allocations(&[Allocation {
            course_code: CourseCode::parse(CSC201.0).unwrap(),
            session: AcademicSession::new(2024).unwrap(),
            semester: Semester::First,
            staff_id: HOD.into(),
        }])
        .await
        .unwrap();

    let records = json!([{ "matric": STUDENTS[0], "ca": "30", "exam": "50" }]);
    let (status, a) = request(&app, HOD, "a page of script 2 was not marked", records).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{a}");
    let id = a["id"].as_i64().unwrap();
    let admin = app.login(ADMIN).await;
    app.wait_processed(&admin, a["sheet_id"].as_i64().unwrap())
        .await;

    let (status, body) = decide(&app, HOD, id, json!({"decision": "approve"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("you asked for this amendment"),
        "{body}"
    );
    // Senate is not next up from the HOD: it cannot skip the dean.
    let (status, _) = decide(&app, SENATE, id, json!({"decision": "approve"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = decide(&app, DEAN, id, json!({"decision": "approve"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["approvals"][0]["role"], "hod", "{body}");
    assert_eq!(body["approvals"][0]["by"], DEAN, "{body}");
    let (status, body) = decide(&app, SENATE, id, json!({"decision": "approve"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    wait_status(&app, &admin, id, "applied").await;
    assert_eq!(line(&app, STUDENTS[0]).await["total"], 80);
}
