//! `eportal demo`: a small university built end to end (seeded, every sheet uploaded,
//! processed by the workers, approved and published), then served; a student from the
//! printed accounts signs in over HTTP and sees published results whose GPA the core
//! recomputes to the same value. A second start on the same directory reuses the demo.

mod cli_support;

use cli_support::{accounts, eportal, login, outcome, run, Child};
use eportal_core::gpa::{self, Attempt};
use eportal_core::{CourseCode, GradingPolicy, Semester};
use std::time::Duration;

const PASSWORD: &str = "pass-for-test";

fn demo(dir: &std::path::Path) -> std::process::Command {
    let mut c = eportal(dir);
    c.args([
        "demo",
        "--students",
        "300",
        "--listen",
        "127.0.0.1:0",
        "--password",
        PASSWORD,
    ]);
    c.arg("--data-dir").arg(dir);
    c
}

#[tokio::test(flavor = "multi_thread")]
async fn the_demo_builds_a_university_and_serves_published_results() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    let mut child = Child::spawn(demo(&dir), tmp.path().join("demo.log"));
    let base = child.wait_listening(Duration::from_secs(180));
    let sign_in = child.wait_for("sign in with a browser at", Duration::from_secs(10));
    assert!(sign_in.ends_with(&format!("{base}/login")), "{sign_in}");
    let printed = child.seen.clone();
    assert!(
        printed
            .iter()
            .any(|l| l.contains("process") && l.contains("rows/s")),
        "{printed:?}"
    );
    let students = accounts(&printed, "student");
    assert!(
        !students.is_empty(),
        "students with results are printed: {printed:?}"
    );
    for kind in ["admin", "senate", "hod", "dean", "lecturer"] {
        assert_eq!(
            accounts(&printed, kind).len(),
            1,
            "one {kind} account is printed: {printed:?}"
        );
    }

    let http = reqwest::Client::new();
    let page = http.get(format!("{base}/login")).send().await.unwrap();
    assert_eq!(page.status(), reqwest::StatusCode::OK);
    assert!(page.text().await.unwrap().contains("<h1>Sign in</h1>"));
    let matric = &students[0];
    let token = login(&http, &base, matric, PASSWORD).await;
    let res = http
        .get(format!(
            "{base}/api/v1/students/{}/results",
            matric.replace('/', "%2F")
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    let semesters = body["semesters"].as_array().expect("semesters");
    assert!(!semesters.is_empty(), "published results: {body}");
    let policy = GradingPolicy::default();
    for sem in semesters {
        let courses = sem["courses"].as_array().unwrap();
        assert!(!courses.is_empty(), "{sem}");
        let attempts: Vec<Attempt> = courses
            .iter()
            .map(|c| {
                let points = c["points"].as_u64().unwrap() as u8;
                let grade = c["grade"].as_str().unwrap();
                assert!(
                    policy
                        .bands
                        .iter()
                        .any(|b| b.grade == grade && b.points == points),
                    "{c}"
                );
                Attempt {
                    course: CourseCode::parse(c["code"].as_str().unwrap()).unwrap(),
                    session: eportal_core::AcademicSession::parse(sem["session"].as_str().unwrap())
                        .unwrap(),
                    semester: Semester::parse(sem["semester"].as_str().unwrap()).unwrap(),
                    units: c["units"].as_u64().unwrap() as u8,
                    points,
                }
            })
            .collect();
        assert_eq!(
            sem["gpa"].as_str().unwrap(),
            gpa::gpa(&attempts, &policy).to_string(),
            "{sem}"
        );
    }
    // Another student's results are not this student's to read.
    let other = format!("{}/results", students.last().unwrap().replace('/', "%2F"));
    if students.len() > 1 {
        let res = http
            .get(format!("{base}/api/v1/students/{other}"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403);
    }
    // The printed password signs the staff accounts in too; a wrong one does not.
    login(&http, &base, &accounts(&printed, "hod")[0], PASSWORD).await;
    let res = http
        .post(format!("{base}/api/v1/auth/login"))
        .json(&serde_json::json!({ "username": "admin", "password": "demo1234" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(
        child.stop(Duration::from_secs(20)),
        Some(0),
        "Ctrl-C/SIGTERM stops it cleanly"
    );

    // A second start reuses the finished demo and serves the same results.
    let mut again = Child::spawn(demo(&dir), tmp.path().join("again.log"));
    let base = again.wait_listening(Duration::from_secs(60));
    assert!(
        again.seen.iter().any(|l| l.contains("reused")),
        "{:?}",
        again.seen
    );
    assert_eq!(accounts(&again.seen, "student"), students);
    login(&http, &base, matric, PASSWORD).await;
    again.stop(Duration::from_secs(20));

    // --reset deletes only eportal's files in the directory, and builds the demo again.
    std::fs::write(dir.join("notes.txt"), "keep me").unwrap();
    let (code, _, err) = outcome(&run(eportal(&dir)
        .args(["demo", "--reset", "--students", "0"])
        .arg("--data-dir")
        .arg(&dir)));
    assert_eq!(
        code, 2,
        "0 students is refused before anything is deleted: {err}"
    );
    assert!(err.contains("--students"), "{err}");
    assert!(dir.join("demo.json").exists());
    let mut reset = demo(&dir);
    reset.arg("--reset");
    let mut rebuilt = Child::spawn(reset, tmp.path().join("reset.log"));
    rebuilt.wait_listening(Duration::from_secs(180));
    assert!(
        !rebuilt.seen.iter().any(|l| l.contains("reused")),
        "{:?}",
        rebuilt.seen
    );
    assert!(
        rebuilt.seen.iter().any(|l| l.starts_with("phases:")),
        "{:?}",
        rebuilt.seen
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("notes.txt")).unwrap(),
        "keep me"
    );
    rebuilt.stop(Duration::from_secs(20));
}

#[test]
fn a_directory_with_another_database_is_not_taken_over() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (code, _, err) = outcome(&run(eportal(dir).arg("migrate")));
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = outcome(&run(eportal(dir)
        .args(["demo", "--students", "10", "--listen", "127.0.0.1:0"])
        .arg("--data-dir")
        .arg(dir)));
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("not a finished demo") && err.contains("--reset"),
        "{err}"
    );
}
