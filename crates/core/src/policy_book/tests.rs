//! Worked by hand: the default is the 5-point scale; students admitted from 2024/2025 are
//! graded on the 4-point scale; results from 2026/2027 drop the E grade.

use super::*;
use crate::domain::{CourseCode, Score, Semester};
use crate::grading::ABSENT_GRADE;
use crate::regrade::{grade, reduce, RegradeRow};

fn s(y: u16) -> AcademicSession {
    AcademicSession::new(y).unwrap()
}

fn book() -> PolicyBook {
    PolicyBook::single(GradingPolicy::nigerian_five_point())
        .with(PolicyScope::Cohort(s(2024)), GradingPolicy::four_point())
        .with(
            PolicyScope::Results(s(2026)),
            GradingPolicy::five_point_without_e(),
        )
}

fn row(code: &str, units: u8, session: u16, total: u16, entry: AcademicSession) -> RegradeRow {
    RegradeRow {
        matric: MatricNo::parse("CSC/2023/001").unwrap(),
        course: CourseCode::parse(code).unwrap(),
        session: s(session),
        semester: Semester::First,
        units,
        total: Score::from_marks(total),
        score_version: 1,
        entry,
        grade: "?".into(),
        points: 0,
    }
}

#[test]
fn each_cohort_is_graded_by_its_own_policy() {
    let b = book();
    let (early, late) = (s(2023), s(2024));
    assert_eq!(b.for_student(early).name, "Nigerian 5-point scale");
    assert_eq!(b.for_student(late).name, "4-point scale");
    // Admitted later than the override's session: still its cohort.
    assert_eq!(b.for_student(s(2025)).name, "4-point scale");
    // 65 is B on both scales: 4 points on the 5-point scale, 3 on the 4-point scale.
    assert_eq!(
        grade(&b, &row("CSC201", 3, 2024, 65, early)),
        ("B".to_string(), 4)
    );
    assert_eq!(
        grade(&b, &row("CSC201", 3, 2024, 65, late)),
        ("B".to_string(), 3)
    );
}

#[test]
fn two_cohorts_get_their_own_gpa_and_class() {
    // CSC201 (3 units) 65 and MTH201 (2 units) 72, in 2024/2025.
    // Admitted 2023/2024 (5-point): B=4, A=5 → (3×4 + 2×5) / 5 = 22/5 = 4.40, Second Class
    // Upper (3.50 to 4.49).
    // Admitted 2024/2025 (4-point): B=3, A=4 → (3×3 + 2×4) / 5 = 17/5 = 3.40, First Class
    // on the 4-point scale starts at 3.50, so Second Class Upper (3.00 to 3.49).
    let b = book();
    for (entry, gpa, class) in [
        (s(2023), 440, "Second Class Upper"),
        (s(2024), 340, "Second Class Upper"),
    ] {
        let mut rows = vec![
            row("CSC201", 3, 2024, 65, entry),
            row("MTH201", 2, 2024, 72, entry),
        ];
        crate::regrade::map(&b, &mut rows);
        let results = reduce(&b, &rows);
        assert_eq!(results.len(), 1);
        assert_eq!(results[0].gpa.hundredths(), gpa, "admitted {entry}");
        assert_eq!(results[0].weighted_points, gpa as u32 * 5 / 100);
        let policy = b.for_student(entry);
        assert_eq!(policy.class_of_degree(results[0].cgpa), Some(class));
    }
}

#[test]
fn a_results_override_grades_that_session_on_for_everyone() {
    let b = book();
    // 42 is E (1 point) on the 5-point scale, F (0) without E, F on the 4-point scale.
    let e = ("E".to_string(), 1);
    let f = ("F".to_string(), 0);
    assert_eq!(grade(&b, &row("CSC301", 2, 2025, 42, s(2023))), e);
    assert_eq!(grade(&b, &row("CSC401", 2, 2026, 42, s(2023))), f);
    assert_eq!(grade(&b, &row("CSC401", 2, 2026, 42, s(2024))), f);
    // The student's own rules (classes, GPA rounding) are still their cohort's.
    assert_eq!(b.for_student(s(2024)).name, "4-point scale");
    assert_eq!(
        b.for_record(s(2024), s(2027)).name,
        "5-point scale without E"
    );
}

#[test]
fn an_absence_stays_absent_under_every_policy() {
    let mut r = row("CSC201", 3, 2024, 30, s(2023));
    r.grade = ABSENT_GRADE.into();
    assert_eq!(grade(&book(), &r), (ABSENT_GRADE.to_string(), 0));
}

#[test]
fn with_replaces_a_scope_and_the_book_reads_back() {
    let b = book().with(
        PolicyScope::Cohort(s(2024)),
        GradingPolicy::five_point_without_e(),
    );
    assert_eq!(b.cohorts.len(), 1);
    assert_eq!(b.for_student(s(2024)).name, "5-point scale without E");
    let back = PolicyBook::from_json(&b.to_json()).unwrap();
    assert_eq!(back, b);
    assert!(b.without(PolicyScope::Default).is_none());
    assert!(b.without(PolicyScope::Cohort(s(2030))).is_none());
    assert!(b
        .without(PolicyScope::Cohort(s(2024)))
        .unwrap()
        .cohorts
        .is_empty());
}

#[test]
fn a_book_with_a_bad_policy_names_its_scope() {
    let mut bad = GradingPolicy::four_point();
    bad.bands.clear();
    let b = book().with(PolicyScope::Cohort(s(2025)), bad);
    assert_eq!(
        b.validate().unwrap_err().to_string(),
        "the grading policy for students admitted from 2025/2026 is not valid: grading policy has no grade bands"
    );
}

#[test]
fn a_proposal_is_none_for_the_same_policy_and_checked_otherwise() {
    let five = PolicyBook::single(GradingPolicy::nigerian_five_point());
    assert_eq!(
        five.proposal(PolicyScope::Default, GradingPolicy::nigerian_five_point()),
        Ok(None)
    );
    let four = five
        .proposal(PolicyScope::Cohort(s(2024)), GradingPolicy::four_point())
        .unwrap()
        .expect("a change");
    assert_eq!(four.for_student(s(2024)).name, "4-point scale");
    assert_eq!(
        four.proposal(PolicyScope::Cohort(s(2024)), GradingPolicy::four_point()),
        Ok(None)
    );
    assert!(five
        .proposal(PolicyScope::Results(s(2026)), GradingPolicy::four_point())
        .is_err());
}

#[test]
fn a_results_override_keeps_the_students_points_scale() {
    let five = PolicyBook::single(GradingPolicy::nigerian_five_point());
    let corrected = five.with(
        PolicyScope::Results(s(2026)),
        GradingPolicy::five_point_without_e(),
    );
    assert_eq!(corrected.validate(), Ok(()));
    let rescaled = five.with(PolicyScope::Results(s(2026)), GradingPolicy::four_point());
    let e = rescaled.validate().unwrap_err().to_string();
    assert!(
        e.starts_with("the policy for results from 2026/2027 gives up to 4 points, but students' own policies give up to 5"),
        "{e}"
    );
    assert!(e.contains("set it for a cohort"), "{e}");
    // A cohort on another scale meets the same override: refused too.
    assert!(book().validate().is_err());
}

#[test]
fn scopes_read_as_people_write_them() {
    assert_eq!(PolicyScope::parse("default"), Ok(PolicyScope::Default));
    assert_eq!(
        PolicyScope::parse("cohort:2024/2025"),
        Ok(PolicyScope::Cohort(s(2024)))
    );
    assert_eq!(
        PolicyScope::parse(" Results : 2026/2027"),
        Ok(PolicyScope::Results(s(2026)))
    );
    let e = PolicyScope::parse("year:2024/2025").unwrap_err();
    assert!(e.contains("is not cohort or results"), "{e}");
    let e = PolicyScope::parse("cohort").unwrap_err();
    assert!(
        e.contains("default, cohort:SESSION or results:SESSION"),
        "{e}"
    );
}

#[test]
fn who_is_affected_by_a_change() {
    let old = book();
    let new = old.with(
        PolicyScope::Cohort(s(2024)),
        GradingPolicy::five_point_without_e(),
    );
    assert!(!old.differs_for(&new, s(2023), &[s(2023), s(2024)]));
    assert!(new.differs_for(&old, s(2024), &[s(2024)]));
    // Records from 2026 on follow the results override in both books.
    let results_only = old.with(PolicyScope::Results(s(2026)), GradingPolicy::four_point());
    assert!(!old.differs_for(&results_only, s(2023), &[s(2024), s(2025)]));
    assert!(old.differs_for(&results_only, s(2023), &[s(2026)]));
}

#[test]
fn partitions_are_stable_and_spread() {
    // Fixed values: a partition must never change between builds or processes.
    assert_eq!(partition("", 7), (0xcbf2_9ce4_8422_2325u64 % 7) as u32);
    assert_eq!(partition("a", 1), 0);
    let mut counts = [0u32; 8];
    for i in 0..8_000 {
        counts[partition(&format!("CSC/2024/{i:04}"), 8) as usize] += 1;
    }
    assert!(counts.iter().all(|&c| c > 800), "{counts:?}");
}
