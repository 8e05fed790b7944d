//! Grading policy versions over the embedded (SQLite) deployment, read the way students and
//! the registry read them: over HTTP from a running portal. Two cohorts follow their own
//! policies; a regrade switches every result at once (a reader sees the old view or the new
//! one, never a mix); a running portal follows the switch without a restart; a dry run
//! changes nothing; a second change waits for the first.
//!
//! Every expected figure below is worked out by hand from the policies' tables in the
//! comments, never by the core's own grading or GPA functions.

mod common;

use common::courses::{moves_to, upload_csv_processed};
use common::university::{ADMIN, CSC201, DEAN, HOD, LECTURER, MTH201, MTH_HOD, SENATE, STUDENTS};
use common::{json, path_matric, problem, spawn_app_with, TestApp};
use eportal::app::Running;
use eportal::config::ProcessRole;
use eportal::regrade_cli::{dry_run_words, progress_line};
use eportal::services::regrade::{ChangedStudent, DryRun};
use eportal::services::{Principal, ServiceError, Services};
use eportal::{App, Config};
use eportal_core::model::{Registration, Student};
use eportal_core::{
    AcademicSession, CourseCode, Gpa, GradingPolicy, MatricNo, PolicyScope, Role, Semester,
};
use eportal_ports::{Regrade, RegradeParts, RegradeStatus};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Admitted 2023/2024: graded under the institution's default.
const COHORT_2023: &str = "SCI/2023/0001";
/// Admitted 2024/2025: graded under the 2024/2025 cohort's policy.
const COHORT_2024: &str = "SCI/2024/0001";

fn session(start_year: u16) -> AcademicSession {
    AcademicSession::new(start_year).expect("a valid session")
}

/// The registry administrator, as the command line and the admin API act for it.
fn registry() -> Principal {
    Principal {
        username: ADMIN.into(),
        display_name: "Registry Administrator".into(),
        roles: vec![Role::Admin],
        session_version: 0,
        password_change_required: false,
    }
}

/// The scores (CA, exam) of the 2024/2025 first semester. The seeded students were admitted
/// in 2021/2022; the two new ones have the same scores as each other.
///
/// | student | CSC 201 (3 units) | MTH 201 (2 units) |
/// |---|---|---|
/// | STUDENTS[0] | 18 + 25 = 43 | 30 + 41 = 71 |
/// | STUDENTS[1] | 35 + 40 = 75 | 25 + 40 = 65 |
/// | STUDENTS[2] | 10 + 20 = 30 | 14.5 + 25 = 39.5, graded as 40 (half up) |
/// | COHORT_2023, COHORT_2024 | 22 + 40 = 62 | 12 + 30 = 42 |
fn sheet(course: &str) -> String {
    let rows: [(&str, &str, &str, &str, &str); 5] = [
        (STUDENTS[0], "18", "25", "30", "41"),
        (STUDENTS[1], "35", "40", "25", "40"),
        (STUDENTS[2], "10", "20", "14.5", "25"),
        (COHORT_2023, "22", "40", "12", "30"),
        (COHORT_2024, "22", "40", "12", "30"),
    ];
    let mut s = String::from("Matric No,CA,Exam\n");
    for (m, csc_ca, csc_exam, mth_ca, mth_exam) in rows {
        let (ca, exam) = if course == CSC201.0 {
            (csc_ca, csc_exam)
        } else {
            (mth_ca, mth_exam)
        };
        s.push_str(&format!("{m},{ca},{exam}\n"));
    }
    s
}

/// Expected results, worked out by hand. Nigerian 5-point: A 70+ = 5, B 60+ = 4, C 50+ = 3,
/// D 45+ = 2, E 40+ = 1, F = 0; classes First 4.50, 2:1 3.50, 2:2 2.40, Third 1.50, Pass
/// 1.00. Without E: the same with 40–44 an F (0). 4-point: A 70+ = 4, B 60+ = 3, C 50+ = 2,
/// D 45+ = 1, F = 0 (pass mark 45); classes First 3.50, 2:1 3.00, 2:2 2.00, Third 1.00.
/// GPA = Σ units × points ÷ 5 units (one semester, so the CGPA is the GPA).
///
/// | student | book 1 (default 5-point; cohort 2024/2025 4-point) | book 2 (default without E) |
/// |---|---|---|
/// | STUDENTS[0] | E 1, A 5: (3 + 10)/5 = 2.60, Second Class Lower | F 0, A 5: 10/5 = 2.00, Third Class |
/// | STUDENTS[1] | A 5, B 4: (15 + 8)/5 = 4.60, First Class | unchanged: 4.60, First Class |
/// | STUDENTS[2] | F 0, E 1: 2/5 = 0.40, no class | F 0, F 0: 0.00, no class |
/// | COHORT_2023 | B 4, E 1: (12 + 2)/5 = 2.80, Second Class Lower | B 4, F 0: 12/5 = 2.40, Second Class Lower |
/// | COHORT_2024 | B 3, F 0: 9/5 = 1.80, Third Class (4-point) | unchanged (its cohort's policy) |
#[derive(Debug, Clone, PartialEq)]
struct Standing {
    grading: String,
    policy_version: u64,
    max_points: u64,
    /// (code, graded total, grade, points)
    lines: Vec<(String, Value, String, u64)>,
    gpa: Value,
    cgpa: Value,
    class: Value,
}

const FIVE: &str = "Nigerian 5-point scale";
const WITHOUT_E: &str = "5-point scale without E";
const FOUR: &str = "4-point scale";

/// (student, policy name, (graded total, grade, points) of CSC 201 and MTH 201, GPA, class)
#[rustfmt::skip]
type Row = (&'static str, &'static str, [(u64, &'static str, u64); 2], &'static str, Option<&'static str>);

/// Book 1: the default (5-point) with the 2024/2025 cohort on the 4-point scale.
#[rustfmt::skip]
const BOOK_1: [Row; 5] = [
    (STUDENTS[0], FIVE, [(43, "E", 1), (71, "A", 5)], "2.60", Some("Second Class Lower")),
    (STUDENTS[1], FIVE, [(75, "A", 5), (65, "B", 4)], "4.60", Some("First Class")),
    (STUDENTS[2], FIVE, [(30, "F", 0), (40, "E", 1)], "0.40", None),
    (COHORT_2023, FIVE, [(62, "B", 4), (42, "E", 1)], "2.80", Some("Second Class Lower")),
    (COHORT_2024, FOUR, [(62, "B", 3), (42, "F", 0)], "1.80", Some("Third Class")),
];

/// Book 2: book 1 with the default changed to the 5-point scale without E.
#[rustfmt::skip]
const BOOK_2: [Row; 5] = [
    (STUDENTS[0], WITHOUT_E, [(43, "F", 0), (71, "A", 5)], "2.00", Some("Third Class")),
    (STUDENTS[1], WITHOUT_E, [(75, "A", 5), (65, "B", 4)], "4.60", Some("First Class")),
    (STUDENTS[2], WITHOUT_E, [(30, "F", 0), (40, "F", 0)], "0.00", None),
    (COHORT_2023, WITHOUT_E, [(62, "B", 4), (42, "F", 0)], "2.40", Some("Second Class Lower")),
    (COHORT_2024, FOUR, [(62, "B", 3), (42, "F", 0)], "1.80", Some("Third Class")),
];

fn expected(book: &[Row; 5], version: u64, matric: &str) -> Standing {
    let (_, grading, lines, gpa, class) = book
        .iter()
        .find(|r| r.0 == matric)
        .unwrap_or_else(|| panic!("no expectation for {matric}"));
    Standing {
        grading: grading.to_string(),
        policy_version: version,
        max_points: if *grading == FOUR { 4 } else { 5 },
        lines: ["CSC 201", "MTH 201"]
            .iter()
            .zip(lines)
            .map(|(c, (total, g, p))| (c.to_string(), json!(total), g.to_string(), *p))
            .collect(),
        gpa: json!(gpa),
        cgpa: json!(gpa),
        class: json!(class),
    }
}

fn before(matric: &str) -> Standing {
    expected(&BOOK_1, 1, matric)
}

fn after(matric: &str) -> Standing {
    expected(&BOOK_2, 2, matric)
}

const EVERYONE: [&str; 5] = [
    STUDENTS[0],
    STUDENTS[1],
    STUDENTS[2],
    COHORT_2023,
    COHORT_2024,
];

/// What a results view says about grading. Asserts the view holds one semester whose CGPA is
/// the overall one, with five units.
fn standing_of(view: &Value) -> Standing {
    let semesters = view["semesters"].as_array().expect("semesters");
    assert_eq!(semesters.len(), 1, "{view}");
    let s = &semesters[0];
    assert_eq!(
        s["cgpa"], view["cgpa"],
        "one semester: its CGPA is the CGPA: {view}"
    );
    assert_eq!(
        (s["units"].clone(), view["total_units"].clone()),
        (json!(5), json!(5)),
        "{view}"
    );
    Standing {
        grading: view["grading"].as_str().expect("grading").into(),
        policy_version: view["policy_version"].as_u64().expect("policy_version"),
        max_points: view["max_points"].as_u64().expect("max_points"),
        lines: s["courses"]
            .as_array()
            .expect("courses")
            .iter()
            .map(|c| {
                let code = c["code"].as_str().expect("code").to_string();
                let grade = c["grade"].as_str().expect("grade").to_string();
                (
                    code,
                    c["total"].clone(),
                    grade,
                    c["points"].as_u64().expect("points"),
                )
            })
            .collect(),
        gpa: s["gpa"].clone(),
        cgpa: view["cgpa"].clone(),
        class: view["class_of_degree"].clone(),
    }
}

/// Adds a student of each of the two cohorts, registered for both seeded courses.
async fn admit_two_cohorts(app: &TestApp) {
    let store = app.running.services.ports.store.as_ref();
    let students: Vec<Student> = [(COHORT_2023, 2023, "Dayo"), (COHORT_2024, 2024, "Efe")]
        .into_iter()
        .map(|(m, entry, first)| Student {
            matric_no: MatricNo::parse(m).unwrap(),
            surname: "Cohort".into(),
            first_name: first.into(),
            programme_code: "CSC".into(),
            level: if entry == 2023 { 200 } else { 100 },
            entry_session: session(entry),
        })
        .collect();
    store.upsert_students(&students).await.expect("students");
    let registrations: Vec<Registration> = students
        .iter()
        .flat_map(|s| {
            [CSC201.0, MTH201.0].map(|c| Registration {
                matric_no: s.matric_no.clone(),
                course_code: CourseCode::parse(c).unwrap(),
                session: session(2024),
                semester: Semester::First,
            })
        })
        .collect();
    store
        .upsert_registrations(&registrations)
        .await
        .expect("registrations");
}

/// Uploads this test's sheet for `code` and takes it through review to published.
async fn publish(app: &TestApp, code: &str, hod: &str) {
    let lecturer = app.login(LECTURER).await;
    upload_csv_processed(app, &lecturer, code, &sheet(code)).await;
    for (who, action, state) in [
        (LECTURER, "submit", "submitted"),
        (hod, "approve", "hod_approved"),
        (DEAN, "approve", "faculty_approved"),
        (SENATE, "approve", "senate_approved"),
        (SENATE, "publish", "published"),
    ] {
        moves_to(app, &app.login(who).await, code, action, state).await;
    }
}

/// The university of these tests, before any score: two more students (one per cohort) and
/// the 2024/2025 cohort on the 4-point scale, which is book 1 at once (nothing to regrade).
async fn university_with_two_cohorts(app: &TestApp) {
    admit_two_cohorts(app).await;
    let services = &app.running.services;
    let cohort = services
        .change_policy(
            &registry(),
            PolicyScope::Cohort(session(2024)),
            GradingPolicy::four_point(),
        )
        .await
        .expect("the cohort's policy is set");
    // No score exists yet: nothing to regrade, the switch is immediate.
    assert_eq!(
        (cohort.status, cohort.from_version, cohort.to_version),
        (RegradeStatus::Done, 0, 1),
        "{cohort:?}"
    );
}

/// Both courses published for the five students.
async fn publish_both(app: &TestApp) {
    publish(app, CSC201.0, HOD).await;
    publish(app, MTH201.0, MTH_HOD).await;
}

async fn results(app: &TestApp, token: &str, matric: &str) -> Value {
    let path = format!("/api/v1/students/{}/results", path_matric(matric));
    let (status, body) = json(app.get(&path, Some(token)).await).await;
    assert_eq!(status, StatusCode::OK, "{matric}: {body}");
    body
}

/// Book 2: the registry changes the default to the 5-point scale without E.
async fn drop_e(services: &Services) -> Regrade {
    let without_e = GradingPolicy::five_point_without_e();
    services
        .change_policy(&registry(), PolicyScope::Default, without_e)
        .await
        .expect("the change is accepted")
}

/// Polls a regrade until it is final (bounded).
async fn until_final(services: &Services, id: i64) -> Regrade {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let r = services.regrade_status(id).await.expect("the regrade");
        if r.status.is_final() {
            return r;
        }
        assert!(
            Instant::now() < deadline,
            "regrade {id} not final after 60 s: {r:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A worker process of the same deployment (same SQLite file and sheets), in this process:
/// with a portal started as `ProcessRole::Portal`, it runs every job and the portal none.
async fn start_workers(app: &TestApp) -> Running {
    let mut config: Config = (*app.running.services.config).clone();
    config.role = ProcessRole::Worker;
    let listener = eportal::http::serve::bind("127.0.0.1:0".parse().unwrap()).expect("bind port 0");
    App::build(config)
        .await
        .expect("the worker builds over the same SQLite file")
        .start(Some(listener))
        .await
        .expect("the worker starts")
}

/// A reader in a loop is what this test is about, not what the rate limit is for.
fn unlimited(c: &mut Config) {
    c.limits.rate_limit_per_minute = 0;
}

#[tokio::test]
async fn two_cohorts_follow_their_own_policy() {
    let app = spawn_app_with(unlimited).await;
    university_with_two_cohorts(&app).await;
    publish_both(&app).await;
    let admin = app.login(ADMIN).await;

    // The same totals (62 and 42), two policies.
    // COHORT_2023, default 5-point: 62 → B 4, 42 → E 1; (3×4 + 2×1)/5 = 14/5 = 2.80, which is
    // Second Class Lower (2.40 ≤ 2.80 < 3.50).
    // COHORT_2024, 4-point: 62 → B 3, 42 → F 0 (pass mark 45); (3×3 + 2×0)/5 = 9/5 = 1.80,
    // which is Third Class on the 4-point scale (1.00 ≤ 1.80 < 2.00).
    for m in [COHORT_2023, COHORT_2024] {
        let view = results(&app, &admin, m).await;
        assert_eq!(standing_of(&view), before(m), "{m}: {view}");
    }
    // The other students (admitted 2021/2022) are on the default too.
    for m in STUDENTS {
        let view = results(&app, &admin, m).await;
        assert_eq!(standing_of(&view), before(m), "{m}: {view}");
    }
    // The exact total of the half mark is kept beside the graded one: 14.5 + 25 = 39.5,
    // graded as 40.
    let s2 = results(&app, &admin, STUDENTS[2]).await;
    let mth = &s2["semesters"][0]["courses"][1];
    assert_eq!(
        (mth["exact_total"].clone(), mth["total"].clone()),
        (json!(39.5), json!(40)),
        "{s2}"
    );
}

#[tokio::test]
async fn a_reader_never_sees_a_mix() {
    let app = spawn_app_with(unlimited).await;
    university_with_two_cohorts(&app).await;
    publish_both(&app).await;
    let services = app.running.services.clone();
    let admin = app.login(ADMIN).await;
    let reader = STUDENTS[0];
    let old = results(&app, &admin, reader).await;
    assert_eq!(standing_of(&old), before(reader), "{old}");

    // Two readers of STUDENTS[0] while the regrade runs: one over HTTP (the cache, and the
    // store on a miss), one straight from the store (no cache at all). Each read is noted
    // with the phase it began in.
    let phase = Arc::new(AtomicU8::new(BEFORE));
    let http_reader = {
        let (client, url, token, phase) = (
            app.client.clone(),
            app.url(&format!("/api/v1/students/{}/results", path_matric(reader))),
            admin.clone(),
            phase.clone(),
        );
        tokio::spawn(async move {
            let mut seen = Vec::new();
            loop {
                let began = phase.load(Ordering::Acquire);
                if began == STOP {
                    return seen;
                }
                let res = client
                    .get(&url)
                    .bearer_auth(&token)
                    .send()
                    .await
                    .expect("the portal answers");
                assert_eq!(res.status(), StatusCode::OK);
                seen.push((began, res.json::<Value>().await.expect("JSON")));
            }
        })
    };
    let store_reader = {
        let (services, phase) = (services.clone(), phase.clone());
        let m = MatricNo::parse(reader).unwrap();
        tokio::spawn(async move {
            let mut seen = Vec::new();
            loop {
                let began = phase.load(Ordering::Acquire);
                if began == STOP {
                    return seen;
                }
                let view = services.load_results(&m).await.expect("results load");
                seen.push((began, serde_json::to_value(view).unwrap()));
                tokio::task::yield_now().await;
            }
        })
    };

    let started = drop_e(&services).await;
    phase.store(RUNNING, Ordering::Release);
    // Five students have scores: the switch waits for the workers.
    assert_eq!(
        (started.status, started.from_version, started.to_version),
        (RegradeStatus::Mapping, 1, 2)
    );
    let done = until_final(&services, started.id).await;
    assert_eq!(done.status, RegradeStatus::Done, "{done:?}");
    // 10 records graded (5 students × 2 courses); changed: STUDENTS[0] CSC 201 (E → F),
    // STUDENTS[2] MTH 201 (E → F), COHORT_2023 MTH 201 (E → F) = 3.
    assert_eq!(
        (done.records, done.changed, done.students),
        (10, 3, 5),
        "{done:?}"
    );

    // Let the readers go on until the new view has been served, then stop them.
    let deadline = Instant::now() + Duration::from_secs(10);
    let new = loop {
        let view = results(&app, &admin, reader).await;
        if view["policy_version"] == 2 {
            break view;
        }
        assert!(
            Instant::now() < deadline,
            "still the old view 10 s after the switch: {view}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(standing_of(&new), after(reader), "{new}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    phase.store(STOP, Ordering::Release);

    for (how, seen) in [
        ("HTTP", http_reader.await.unwrap()),
        ("store", store_reader.await.unwrap()),
    ] {
        let mut switched = false;
        for (i, (_, view)) in seen.iter().enumerate() {
            if *view == new {
                switched = true;
            } else {
                assert_eq!(
                    *view, old,
                    "{how} read {i} is neither the old view nor the new one"
                );
                assert!(
                    !switched,
                    "{how} read {i}: the old view again after the new one"
                );
            }
        }
        assert!(switched, "{how}: the reader never saw the new view");
        // The readers overlapped the regrade: reads begun while it ran still got the whole
        // old view (the switch had not happened yet).
        let old_while_running = seen
            .iter()
            .filter(|(p, v)| *p == RUNNING && *v == old)
            .count();
        assert!(
            old_while_running > 0,
            "{how}: no read of the old view while the regrade ran ({} reads)",
            seen.len()
        );
    }
}

/// The phases of [`a_reader_never_sees_a_mix`] a read can begin in.
const BEFORE: u8 = 0;
const RUNNING: u8 = 1;
const STOP: u8 = 2;

/// Reads `matric`'s results with `token` until they are book 2's (each read is book 1's or
/// book 2's, whole), failing at `deadline`.
async fn until_book_2(app: &TestApp, token: &str, matric: &str, deadline: Instant) {
    loop {
        let view = results(app, token, matric).await;
        if view["policy_version"] == 2 {
            assert_eq!(standing_of(&view), after(matric), "{matric}: {view}");
            return;
        }
        assert_eq!(standing_of(&view), before(matric), "{matric}: {view}");
        assert!(
            Instant::now() < deadline,
            "{matric}: still book 1 five seconds after the switch"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// How many reads the portal's fast lane (cached results, before the router) has answered.
async fn fast_lane_answers(app: &TestApp) -> u64 {
    let text = app.get("/metrics", None).await.text().await.unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("eportal_http_fast_lane_total "))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn a_running_portal_serves_the_new_version_without_restart() {
    // A portal with no workers of its own and a worker beside it over the same SQLite file:
    // the regrade is switched by the worker, so the portal learns of it only by asking.
    let app = spawn_app_with(|c| {
        unlimited(c);
        c.role = ProcessRole::Portal;
    })
    .await;
    university_with_two_cohorts(&app).await;
    let workers = start_workers(&app).await;
    publish_both(&app).await;
    let admin = app.login(ADMIN).await;
    let mut own = Vec::new();
    for m in STUDENTS {
        // Each student reads their own results twice under book 1: the second read is
        // answered from the cache (the results-day path).
        let token = app.login(m).await;
        for _ in 0..2 {
            assert_eq!(
                standing_of(&results(&app, &token, m).await),
                before(m),
                "{m}"
            );
        }
        own.push((m, token));
    }
    for m in [COHORT_2023, COHORT_2024] {
        assert_eq!(
            standing_of(&results(&app, &admin, m).await),
            before(m),
            "{m}"
        );
    }

    // The cache warmer loads each published student again a few seconds after publication
    // (`results_store_timeout_ms` + 1 s); let it finish, so that nothing but the readers
    // below asks this portal anything once the regrade is done.
    tokio::time::sleep(Duration::from_millis(
        app.running.services.config.results_store_timeout_ms + 2_000,
    ))
    .await;
    let portal = &app.running.services;
    let started = drop_e(portal).await;
    let done = until_final(portal, started.id).await;
    assert_eq!(done.status, RegradeStatus::Done, "{done:?}");

    // Within a few seconds (the portal asks which book is active at most every second),
    // every student's results are book 2's, from the same running portal: first as the
    // students read their own (nothing else asks the portal anything meanwhile), then as
    // the registry reads everyone's.
    let deadline = Instant::now() + Duration::from_secs(5);
    let fast = fast_lane_answers(&app).await;
    for (m, token) in &own {
        until_book_2(&app, token, m, deadline).await;
    }
    assert!(
        fast_lane_answers(&app).await > fast,
        "the students' reads were answered from the cache, before the router"
    );
    for m in EVERYONE {
        until_book_2(&app, &admin, m, deadline).await;
    }
    assert_eq!(portal.policies.known_version(), 2);
    workers.shutdown().await;
}

#[tokio::test]
async fn a_dry_run_counts_what_would_change() {
    let app = spawn_app_with(unlimited).await;
    university_with_two_cohorts(&app).await;
    publish_both(&app).await;
    let services = &app.running.services;
    let admin = app.login(ADMIN).await;
    let mut before_views = Vec::new();
    for m in EVERYONE {
        before_views.push(results(&app, &admin, m).await);
    }

    let book = services
        .proposed_book(PolicyScope::Default, GradingPolicy::five_point_without_e())
        .await
        .expect("a different book");
    let report = services.dry_run(&book, 10).await.expect("the dry run");
    // By the tables above: 5 students, 10 records; 3 records go from E to F (STUDENTS[0] CSC
    // 201, STUDENTS[2] MTH 201, COHORT_2023 MTH 201); those three students' GPAs change
    // (2.60 → 2.00, 0.40 → 0.00, 2.80 → 2.40); only STUDENTS[0] changes class (Second Class
    // Lower → Third Class: COHORT_2023 stays at 2.40, the lower bound of Second Class Lower,
    // and STUDENTS[2] has no class either way); COHORT_2024 keeps its cohort's policy.
    let gpa = |s: &str| Some(Gpa::parse(s).unwrap());
    let example = |m: &str, b: &str, a: &str, cb: Option<&str>, ca: Option<&str>| ChangedStudent {
        matric_no: MatricNo::parse(m).unwrap(),
        cgpa_before: gpa(b),
        cgpa_after: gpa(a),
        class_before: cb.map(String::from),
        class_after: ca.map(String::from),
    };
    assert_eq!(
        report,
        DryRun {
            students: 5,
            records: 10,
            records_changed: 3,
            gpa_changed: 3,
            class_changed: 1,
            examples: vec![
                example(
                    STUDENTS[0],
                    "2.60",
                    "2.00",
                    Some("Second Class Lower"),
                    Some("Third Class")
                ),
                example(STUDENTS[2], "0.40", "0.00", None, None),
                example(
                    COHORT_2023,
                    "2.80",
                    "2.40",
                    Some("Second Class Lower"),
                    Some("Second Class Lower")
                ),
            ],
        }
    );
    // Fewer examples asked for, fewer given; the counts stay.
    let one = services.dry_run(&book, 1).await.expect("the dry run");
    assert_eq!((one.gpa_changed, one.examples.len()), (3, 1));

    // Nothing changed: the same book is active, no other was stored, no regrade started, and
    // every student reads exactly what they read before.
    let store = &services.ports.store;
    assert_eq!(store.active_policy_version().await.unwrap(), 1);
    assert_eq!(store.policy_book(2).await.unwrap(), None);
    assert_eq!(
        store.regrades(10).await.unwrap().len(),
        1,
        "only the cohort's switch"
    );
    for (m, was) in EVERYONE.iter().zip(&before_views) {
        let now = services
            .load_results(&MatricNo::parse(m).unwrap())
            .await
            .unwrap();
        assert_eq!(serde_json::to_value(now).unwrap(), *was, "{m}");
        assert_eq!(results(&app, &admin, m).await, *was, "{m}");
    }
}

#[tokio::test]
async fn a_policy_change_while_one_runs_is_refused() {
    // No workers once the results are published: the regrade stays in its first phase.
    let app = spawn_app_with(|c| c.role = ProcessRole::Portal).await;
    university_with_two_cohorts(&app).await;
    let workers = start_workers(&app).await;
    publish_both(&app).await;
    workers.shutdown().await;

    let services = &app.running.services;
    let running = drop_e(services).await;
    assert_eq!(running.status, RegradeStatus::Mapping);

    let named = |m: &str| {
        assert!(
            m.contains(&format!("regrade {}", running.id)) && m.contains("still running"),
            "the refusal names the running regrade: {m}"
        );
    };
    match services
        .change_policy(
            &registry(),
            PolicyScope::Cohort(session(2023)),
            GradingPolicy::four_point(),
        )
        .await
    {
        Err(ServiceError::Conflict(m)) => named(&m),
        other => panic!(
            "a second change while regrade {} runs: {other:?}",
            running.id
        ),
    }
    // Over HTTP: 409 with the same words.
    let admin = app.login(ADMIN).await;
    let res = app
        .post_json(
            "/api/v1/admin/policies",
            Some(&admin),
            &json!({ "scope": "cohort:2023/2024", "policy": GradingPolicy::four_point() }),
        )
        .await;
    let body = problem(res, StatusCode::CONFLICT).await;
    named(body["detail"].as_str().unwrap());

    // Refused means nothing written: book 1 still serves, book 2 waits, no book 3.
    let store = &services.ports.store;
    assert_eq!(store.active_policy_version().await.unwrap(), 1);
    assert_eq!(store.policy_book(3).await.unwrap(), None);
    assert_eq!(store.regrades(10).await.unwrap().len(), 2);
    for m in EVERYONE {
        assert_eq!(
            standing_of(&results(&app, &admin, m).await),
            before(m),
            "{m}"
        );
    }

    // Once a worker finishes the regrade, the next change is accepted.
    let workers = start_workers(&app).await;
    assert_eq!(
        until_final(services, running.id).await.status,
        RegradeStatus::Done
    );
    let next = services
        .change_policy(
            &registry(),
            PolicyScope::Cohort(session(2023)),
            GradingPolicy::four_point(),
        )
        .await
        .expect("accepted once the regrade is done");
    assert_eq!((next.from_version, next.to_version), (2, 3));
    assert_eq!(
        until_final(services, next.id).await.status,
        RegradeStatus::Done
    );
    workers.shutdown().await;
}

fn regrade(status: RegradeStatus, maps_done: u32, reduces_done: u32) -> Regrade {
    Regrade {
        id: 7,
        from_version: 1,
        to_version: 2,
        status,
        parts: RegradeParts {
            map: 16,
            reduce: 16,
        },
        maps_done,
        reduces_done,
        records: 640,
        changed: 12,
        students: 0,
        started_by: ADMIN.into(),
        started_at_ms: 0,
        finished_at_ms: None,
        message: None,
    }
}

#[test]
fn the_command_line_says_how_far_a_regrade_is_and_what_a_dry_run_found() {
    // 16 maps + 4 reduces of 16 + 16 + 1 commit = 20/33 tasks; the bar is 30 wide:
    // 20 × 30 / 33 = 18.2 → 18 filled. 20 tasks in 10 s while watching is 0.5 s a task,
    // 13 left: 6.5 s → 7 s.
    let r = regrade(RegradeStatus::Reducing, 16, 4);
    assert_eq!(
        progress_line(&r, Duration::from_secs(10), 0),
        format!(
            "[{}{}] 20/33 tasks  reducing  640 records  ETA 0:07",
            "#".repeat(18),
            ".".repeat(12)
        )
    );
    // Nothing finished since watching began: no rate to go by.
    assert_eq!(
        progress_line(&r, Duration::from_secs(10), 20),
        format!(
            "[{}{}] 20/33 tasks  reducing  640 records  ETA …",
            "#".repeat(18),
            ".".repeat(12)
        )
    );
    // Done: every task, the commit included; no ETA.
    assert_eq!(
        progress_line(
            &regrade(RegradeStatus::Done, 16, 16),
            Duration::from_secs(3),
            0
        ),
        format!("[{}] 33/33 tasks  done  640 records", "#".repeat(30))
    );
    // Failed after 3 maps: 3 × 30 / 33 = 2.7 → 2 filled; no ETA either.
    assert_eq!(
        progress_line(
            &regrade(RegradeStatus::Failed, 3, 0),
            Duration::from_secs(3),
            0
        ),
        format!("[##{}] 3/33 tasks  failed  640 records", ".".repeat(28))
    );

    let d = DryRun {
        students: 5,
        records: 10,
        records_changed: 3,
        gpa_changed: 3,
        class_changed: 1,
        examples: vec![ChangedStudent {
            matric_no: MatricNo::parse(STUDENTS[2]).unwrap(),
            cgpa_before: Gpa::parse("0.40"),
            cgpa_after: Gpa::parse("0.00"),
            class_before: None,
            class_after: None,
        }],
    };
    assert_eq!(
        dry_run_words(&d, PolicyScope::Cohort(session(2024))),
        "dry run: the new policy for students admitted from 2024/2025; nothing was changed\n\
         5 students, 10 records: 3 records would change grade or points\n\
         3 students' GPAs would change; 1 students' classes of degree would change\n\
         for example:\n  SCI/2021/0003: CGPA 0.40 → 0.00, class none → none\n"
    );
    let none = DryRun {
        examples: Vec::new(),
        ..d
    };
    assert!(!dry_run_words(&none, PolicyScope::Default).contains("for example"));
}
