//! The access rules a university insists on, over HTTP: the scope of HODs and deans on reads,
//! students refused every workflow step and every course-result read without learning its
//! state, the cross-student `403` on cached results, and honest answers for a course that
//! does not exist and a term in which a course is not taught. (Separation of duties is in
//! `api_duties.rs`.)

mod common;

use common::courses::{act, course_url, moves_to, sheet, upload_processed};
use common::university::{
    ADMIN, ARTS_DEAN, CSC201, DEAN, HOD, LECTURER, MTH201, MTH_HOD, SENATE, STUDENTS,
};
use common::{cache_hits, json, path_matric, problem, spawn_app};
use reqwest::StatusCode;
use serde_json::{json, Value};

fn results_url(matric: &str) -> String {
    format!("/api/v1/students/{}/results", path_matric(matric))
}

#[tokio::test]
async fn an_hod_or_dean_reads_only_their_own_department_or_faculty() {
    let app = spawn_app().await;
    let lecturer = app.login(LECTURER).await;
    let csc_sheet = upload_processed(&app, &lecturer, CSC201.0).await;
    upload_processed(&app, &lecturer, MTH201.0).await;
    let hod = app.login(HOD).await;
    let mth_hod = app.login(MTH_HOD).await;
    let dean = app.login(DEAN).await;
    let arts_dean = app.login(ARTS_DEAN).await;
    let senate = app.login(SENATE).await;
    let admin = app.login(ADMIN).await;

    // Course records: CSC 201 belongs to Computer Science, in the Faculty of Science.
    for (who, token) in [
        ("CSC HOD", &hod),
        ("Science dean", &dean),
        ("senate", &senate),
        ("admin", &admin),
    ] {
        let (status, body) = json(app.get(&course_url(CSC201.0, ""), Some(token)).await).await;
        assert_eq!(status, StatusCode::OK, "{who}: {body}");
        assert_eq!(
            body["records"].as_array().unwrap().len(),
            3,
            "{who}: {body}"
        );
    }
    let (status, _) = json(app.get(&course_url(MTH201.0, ""), Some(&mth_hod)).await).await;
    assert_eq!(status, StatusCode::OK, "the MTH HOD reads MTH 201");
    for (who, token) in [("MTH HOD", &mth_hod), ("Arts dean", &arts_dean)] {
        let body = problem(
            app.get(&course_url(CSC201.0, ""), Some(token)).await,
            StatusCode::FORBIDDEN,
        )
        .await;
        assert_eq!(
            body["detail"],
            "only the lecturer of CSC 201 in 2024/2025 first semester, the HOD of its department, the dean of its faculty, senate and the registry may see this course result",
            "{who}"
        );
    }
    // Nor read its score sheet (answered as if it did not exist, as for anyone outside).
    let sheet_url = format!("/api/v1/score-sheets/{csc_sheet}");
    for (who, token) in [("MTH HOD", &mth_hod), ("Arts dean", &arts_dean)] {
        let body = problem(
            app.get(&sheet_url, Some(token)).await,
            StatusCode::NOT_FOUND,
        )
        .await;
        assert_eq!(
            body["detail"],
            format!("score sheet {csc_sheet} does not exist"),
            "{who}"
        );
    }
    for (who, token) in [
        ("CSC HOD", &hod),
        ("Science dean", &dean),
        ("senate", &senate),
    ] {
        let (status, body) = json(app.get(&sheet_url, Some(token)).await).await;
        assert_eq!(status, StatusCode::OK, "{who}: {body}");
    }
    // Nor may they act on it.
    problem(
        act(&app, &arts_dean, CSC201.0, "approve").await,
        StatusCode::FORBIDDEN,
    )
    .await;

    // Student results: the students study Computer Science.
    for (who, token) in [
        ("CSC HOD", &hod),
        ("Science dean", &dean),
        ("senate", &senate),
        ("admin", &admin),
    ] {
        let (status, body) = json(app.get(&results_url(STUDENTS[0]), Some(token)).await).await;
        assert_eq!(status, StatusCode::OK, "{who}: {body}");
    }
    for (who, token) in [("MTH HOD", &mth_hod), ("Arts dean", &arts_dean)] {
        let body = problem(
            app.get(&results_url(STUDENTS[0]), Some(token)).await,
            StatusCode::FORBIDDEN,
        )
        .await;
        assert_eq!(
            body["detail"],
            format!("{} is not a student of your department (HOD) or faculty (dean); only senate and the registry read every student's results", STUDENTS[0]),
            "{who}"
        );
    }
}

#[tokio::test]
async fn a_student_is_refused_every_step_and_never_learns_a_courses_state() {
    let app = spawn_app().await;
    let lecturer = app.login(LECTURER).await;
    let student = app.login(STUDENTS[0]).await;
    let csc = CSC201.0;

    let (status, body) = app.upload_csv(&student, csc, &sheet()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");

    // The same refusals whether the result is a draft or submitted: nothing to tell apart.
    let mut seen: Vec<Vec<Value>> = Vec::new();
    for stage in ["draft", "submitted"] {
        if stage == "submitted" {
            upload_processed(&app, &lecturer, csc).await;
            moves_to(&app, &lecturer, csc, "submit", "submitted").await;
        }
        let mut details = Vec::new();
        for action in ["submit", "approve", "publish"] {
            let body = problem(
                act(&app, &student, csc, action).await,
                StatusCode::FORBIDDEN,
            )
            .await;
            details.push(body["detail"].clone());
        }
        let body = problem(
            app.get(&course_url(csc, ""), Some(&student)).await,
            StatusCode::FORBIDDEN,
        )
        .await;
        details.push(body["detail"].clone());
        for d in &details {
            let d = d.as_str().unwrap();
            assert!(
                !["draft", "submitted", "approved", "published"]
                    .iter()
                    .any(|w| d.contains(w)),
                "a refusal names a workflow state: {d}"
            );
        }
        seen.push(details);
    }
    assert_eq!(
        seen[0], seen[1],
        "refusals differ between a draft and a submitted result"
    );
    assert_eq!(
        seen[0][1],
        "you have no part in the approval of CSC 201: only the lecturer allocated to it, the HOD of its department, the dean of its faculty and senate act on it"
    );
}

#[tokio::test]
async fn another_students_published_and_cached_results_stay_forbidden() {
    let app = spawn_app().await;
    let lecturer = app.login(LECTURER).await;
    let hod = app.login(HOD).await;
    let dean = app.login(DEAN).await;
    let senate = app.login(SENATE).await;
    let csc = CSC201.0;
    upload_processed(&app, &lecturer, csc).await;
    moves_to(&app, &lecturer, csc, "submit", "submitted").await;
    moves_to(&app, &hod, csc, "approve", "hod_approved").await;
    moves_to(&app, &dean, csc, "approve", "faculty_approved").await;
    moves_to(&app, &senate, csc, "approve", "senate_approved").await;
    moves_to(&app, &senate, csc, "publish", "published").await;

    let owner = app.login(STUDENTS[0]).await;
    let other = app.login(STUDENTS[1]).await;
    // Read twice: the second answer comes from the cache.
    let (status, first) = json(app.get(&results_url(STUDENTS[0]), Some(&owner)).await).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(
        first["semesters"][0]["courses"][0]["code"], "CSC 201",
        "{first}"
    );
    let hits = cache_hits(&app).await;
    let (_, second) = json(app.get(&results_url(STUDENTS[0]), Some(&owner)).await).await;
    assert_eq!(second, first);
    assert!(
        cache_hits(&app).await > hits,
        "the second read was not a cache hit"
    );

    let body = problem(
        app.get(&results_url(STUDENTS[0]), Some(&other)).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert_eq!(body["detail"], "you may see only your own results");
    assert!(
        !body.to_string().contains("CSC 201"),
        "the refusal carries none of the cached results: {body}"
    );
}

#[tokio::test]
async fn a_missing_course_is_404_and_an_untaught_term_refuses_uploads() {
    let app = spawn_app().await;
    let admin = app.login(ADMIN).await;
    let lecturer = app.login(LECTURER).await;
    let body = problem(
        app.get(&course_url("XYZ999", ""), Some(&admin)).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_eq!(body["detail"], "course XYZ 999 does not exist");
    problem(
        act(&app, &admin, "XYZ999", "approve").await,
        StatusCode::NOT_FOUND,
    )
    .await;
    // A course that exists has no result in a term it is not taught in.
    let second = "/api/v1/course-results/CSC201/2024-2025/second";
    let body = problem(app.get(second, Some(&admin)).await, StatusCode::NOT_FOUND).await;
    assert_eq!(
        body["detail"],
        "CSC 201 is not taught in the second semester of 2024/2025, so it has no result then"
    );
    let senate = app.login(SENATE).await;
    problem(
        app.post_json(&format!("{second}/approve"), Some(&senate), &json!({}))
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;

    for token in [&lecturer, &admin] {
        let res = app
            .request(
                reqwest::Method::POST,
                &format!(
                    "/api/v1/score-sheets?course={}&session=2024-2025&semester=second",
                    CSC201.0
                ),
                Some(token),
            )
            .header("content-type", "text/csv")
            .body(sheet())
            .send()
            .await
            .unwrap();
        let body = problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(
            body["detail"],
            "CSC 201 is not taught in the second semester of 2024/2025 (no lecturer is allocated to it then); check the session and semester of the upload"
        );
    }
    // The term it is taught in still takes the sheet.
    upload_processed(&app, &lecturer, CSC201.0).await;
}
