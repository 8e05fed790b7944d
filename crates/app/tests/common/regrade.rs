//! Grading-policy helpers of the regrade API tests (`regrade_policies.rs`,
//! `regrade_switch.rs`): a university with two more students, one per cohort, the
//! 2024/2025 cohort on the 4-point scale; this semester's score sheet and its publication;
//! and the expected results of every student under book 1 and book 2, worked out by hand
//! from the policies' tables in the comments, never by the core's own grading or GPA
//! functions.

use super::courses::{moves_to, upload_csv_processed};
use super::university::{ADMIN, CSC201, DEAN, HOD, LECTURER, MTH201, MTH_HOD, SENATE, STUDENTS};
use super::{json, path_matric, TestApp};
use eportal::services::Principal;
use eportal::Config;
use eportal_core::model::{Registration, Student};
use eportal_core::{
    AcademicSession, CourseCode, GradingPolicy, MatricNo, PolicyScope, Role, Semester,
};
use eportal_ports::RegradeStatus;
use reqwest::StatusCode;
use serde_json::{json, Value};

/// Admitted 2023/2024: graded under the institution's default.
pub const COHORT_2023: &str = "SCI/2023/0001";
/// Admitted 2024/2025: graded under the 2024/2025 cohort's policy.
pub const COHORT_2024: &str = "SCI/2024/0001";

pub fn session(start_year: u16) -> AcademicSession {
    AcademicSession::new(start_year).expect("a valid session")
}

/// The registry administrator, as the command line and the admin API act for it.
pub fn registry() -> Principal {
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
pub fn sheet(course: &str) -> String {
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
pub struct Standing {
    grading: String,
    policy_version: u64,
    max_points: u64,
    /// (code, graded total, grade, points)
    lines: Vec<(String, Value, String, u64)>,
    gpa: Value,
    cgpa: Value,
    class: Value,
}

pub const FIVE: &str = "Nigerian 5-point scale";
pub const WITHOUT_E: &str = "5-point scale without E";
pub const FOUR: &str = "4-point scale";

/// (student, policy name, (graded total, grade, points) of CSC 201 and MTH 201, GPA, class)
#[rustfmt::skip]
pub type Row = (&'static str, &'static str, [(u64, &'static str, u64); 2], &'static str, Option<&'static str>);

/// Book 1: the default (5-point) with the 2024/2025 cohort on the 4-point scale.
#[rustfmt::skip]
pub const BOOK_1: [Row; 5] = [
    (STUDENTS[0], FIVE, [(43, "E", 1), (71, "A", 5)], "2.60", Some("Second Class Lower")),
    (STUDENTS[1], FIVE, [(75, "A", 5), (65, "B", 4)], "4.60", Some("First Class")),
    (STUDENTS[2], FIVE, [(30, "F", 0), (40, "E", 1)], "0.40", None),
    (COHORT_2023, FIVE, [(62, "B", 4), (42, "E", 1)], "2.80", Some("Second Class Lower")),
    (COHORT_2024, FOUR, [(62, "B", 3), (42, "F", 0)], "1.80", Some("Third Class")),
];

/// Book 2: book 1 with the default changed to the 5-point scale without E.
#[rustfmt::skip]
pub const BOOK_2: [Row; 5] = [
    (STUDENTS[0], WITHOUT_E, [(43, "F", 0), (71, "A", 5)], "2.00", Some("Third Class")),
    (STUDENTS[1], WITHOUT_E, [(75, "A", 5), (65, "B", 4)], "4.60", Some("First Class")),
    (STUDENTS[2], WITHOUT_E, [(30, "F", 0), (40, "F", 0)], "0.00", None),
    (COHORT_2023, WITHOUT_E, [(62, "B", 4), (42, "F", 0)], "2.40", Some("Second Class Lower")),
    (COHORT_2024, FOUR, [(62, "B", 3), (42, "F", 0)], "1.80", Some("Third Class")),
];

pub fn expected(book: &[Row; 5], version: u64, matric: &str) -> Standing {
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

pub fn before(matric: &str) -> Standing {
    expected(&BOOK_1, 1, matric)
}

pub fn after(matric: &str) -> Standing {
    expected(&BOOK_2, 2, matric)
}

pub const EVERYONE: [&str; 5] = [
    STUDENTS[0],
    STUDENTS[1],
    STUDENTS[2],
    COHORT_2023,
    COHORT_2024,
];

/// What a results view says about grading. Asserts the view holds one semester whose CGPA is
/// the overall one, with five units.
pub fn standing_of(view: &Value) -> Standing {
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
pub async fn admit_two_cohorts(app: &TestApp) {
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

/// Uploads these tests' sheet for `code` and takes it through review to published.
pub async fn publish(app: &TestApp, code: &str, hod: &str) {
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
pub async fn university_with_two_cohorts(app: &TestApp) {
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
pub async fn publish_both(app: &TestApp) {
    publish(app, CSC201.0, HOD).await;
    publish(app, MTH201.0, MTH_HOD).await;
}

pub async fn results(app: &TestApp, token: &str, matric: &str) -> Value {
    let path = format!("/api/v1/students/{}/results", path_matric(matric));
    let (status, body) = json(app.get(&path, Some(token)).await).await;
    assert_eq!(status, StatusCode::OK, "{matric}: {body}");
    body
}

/// A reader in a loop is what these tests are about, not what the rate limit is for.
pub fn unlimited(c: &mut Config) {
    c.limits.rate_limit_per_minute = 0;
}
