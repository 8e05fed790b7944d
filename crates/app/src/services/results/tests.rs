//! Unit tests of [`super::build_view`]: totals, GPAs, absences and amended marks as a
//! student reads them.

use super::*;
use eportal_core::grading::AbsencePolicy;
use eportal_core::model::Student;
use eportal_core::{CourseCode, GradingPolicy, PolicyBook};

fn student() -> Student {
    Student {
        matric_no: MatricNo::parse("SCI/2021/0001").unwrap(),
        surname: "Okafor".into(),
        first_name: "Ada".into(),
        programme_code: "CSC".into(),
        level: 200,
        entry_session: AcademicSession::parse("2021/2022").unwrap(),
    }
}

/// A published record; `grade` and `points` as a sheet would have stored them.
fn record(
    code: &str,
    units: u8,
    semester: Semester,
    ca: u16,
    exam: u16,
    grade: &str,
    points: u8,
) -> CourseRecord {
    CourseRecord {
        matric_no: student().matric_no,
        course_code: CourseCode::parse(code).unwrap(),
        course_title: code.into(),
        units,
        session: AcademicSession::parse("2024/2025").unwrap(),
        semester,
        ca: Score::from_tenths(ca),
        exam: Score::from_tenths(exam),
        total: Score::from_tenths(ca + exam),
        grade: grade.into(),
        points,
        version: 1,
        sheet_id: 1,
        state: WorkflowState::Published,
        amended: None,
    }
}

#[test]
fn no_credit_units_means_no_gpa_not_zero() {
    // A zero-unit course (a seminar) alone in its semester: graded, but no GPA.
    let records = [record("GST 100", 0, Semester::First, 300, 400, "A", 5)];
    let v = build_view(&student(), &records, &PolicyBook::default());
    assert_eq!(v.semesters[0].gpa, None);
    assert_eq!(v.semesters[0].cgpa, None);
    assert_eq!(v.cgpa, None);
    assert_eq!(v.class_of_degree, None);
    let json = serde_json::to_value(&v).unwrap();
    assert_eq!(json["semesters"][0]["gpa"], serde_json::Value::Null);
    assert_eq!(gpa_words(v.cgpa), "none");
}

#[test]
fn an_absence_counts_as_the_policy_says() {
    // First semester: A (5) in 3 units, ABS in 2 units. Second: B (4) in 3 units.
    let records = [
        record("CSC 201", 3, Semester::First, 300, 450, "A", 5),
        record("MTH 201", 2, Semester::First, 200, 0, "ABS", 0),
        record("CSC 202", 3, Semester::Second, 250, 350, "B", 4),
    ];
    // As a fail: (3×5 + 2×0) / 5 = 3.00, then 3×4 / 3 = 4.00; CGPA (15 + 0 + 12) / 8 = 3.375
    // → 3.38.
    let fail = build_view(&student(), &records, &PolicyBook::default());
    let gpas: Vec<Option<String>> = fail
        .semesters
        .iter()
        .map(|s| s.gpa.map(|g| g.to_string()))
        .collect();
    assert_eq!(gpas, [Some("3.00".to_string()), Some("4.00".to_string())]);
    assert_eq!(fail.cgpa.map(|g| g.to_string()).as_deref(), Some("3.38"));
    assert!(fail.semesters[0]
        .courses
        .iter()
        .any(|c| c.absent && c.grade == "ABS"));
    assert_eq!(fail.semesters[0].withheld, None);

    // As incomplete: the first semester's GPA and every CGPA from it on are withheld.
    let policy = GradingPolicy {
        absence: AbsencePolicy::Incomplete,
        ..GradingPolicy::default()
    };
    let held = build_view(&student(), &records, &PolicyBook::single(policy.clone()));
    assert_eq!(held.semesters[0].gpa, None);
    assert!(held.semesters[0]
        .withheld
        .as_deref()
        .unwrap()
        .contains("MTH 201"));
    assert_eq!(held.semesters[0].cgpa, None);
    assert_eq!(
        held.semesters[1].gpa.map(|g| g.to_string()).as_deref(),
        Some("4.00")
    );
    assert_eq!(held.semesters[1].cgpa, None);
    assert_eq!(held.cgpa, None);
    assert_eq!(held.class_of_degree, None);
}

#[test]
fn the_total_shown_is_the_total_graded() {
    // 24.5 + 20 = 44.5: graded as 45 (D) under the default policy's rounding.
    let records = [record("CSC 201", 3, Semester::First, 245, 200, "D", 2)];
    let v = build_view(&student(), &records, &PolicyBook::default());
    let line = &v.semesters[0].courses[0];
    assert_eq!(line.total, Score::from_marks(45));
    assert_eq!(line.exact_total, Score::from_tenths(445));
}

#[test]
fn an_amended_score_is_marked_with_its_date_and_others_are_not() {
    let mut amended = record("CSC 201", 3, Semester::First, 300, 350, "A", 5);
    // 2026-11-27 10:00 UTC.
    amended.amended = Some(eportal_core::model::AmendedMark {
        amendment_id: 7,
        at_ms: 1_795_773_600_000,
    });
    let records = [
        amended,
        record("MTH 201", 2, Semester::First, 200, 300, "C", 3),
    ];
    let v = build_view(&student(), &records, &PolicyBook::default());
    let marks: Vec<(&str, Option<(i64, &str)>)> = v.semesters[0]
        .courses
        .iter()
        .map(|c| {
            (
                c.code.as_str(),
                c.amended.as_ref().map(|m| (m.amendment_id, m.on.as_str())),
            )
        })
        .collect();
    assert_eq!(
        marks,
        [("CSC 201", Some((7, "2026-11-27"))), ("MTH 201", None)]
    );
    let json = serde_json::to_value(&v).unwrap();
    assert_eq!(
        json["semesters"][0]["courses"][0]["amended"]["on"],
        "2026-11-27"
    );
    assert_eq!(
        json["semesters"][0]["courses"][1]["amended"],
        serde_json::Value::Null
    );
}
