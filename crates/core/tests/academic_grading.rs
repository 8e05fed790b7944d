//! Grading policies: grade boundaries of the three tested scales under both total-rounding
//! rules, classes of degree at their boundaries, validation errors, and the JSON form in
//! which a policy is stored.

use eportal_core::grading::{
    DegreeClass, GpaRounding, GradeBand, PolicyError, RetakePolicy, TotalRounding,
};
use eportal_core::{Gpa, GradingPolicy, Score};

fn score(s: &str) -> Score {
    Score::parse(s).unwrap()
}

fn with_rounding(mut p: GradingPolicy, r: TotalRounding) -> GradingPolicy {
    p.total_rounding = r;
    p
}

/// Grades every boundary total and compares with the expected (grade, points, passed).
fn check_boundaries(policy: &GradingPolicy, expected: &[(&str, &str, u8, bool)]) {
    policy.validate().expect("a shipped policy is valid");
    for &(total, grade, points, passed) in expected {
        let g = policy.grade(score(total));
        assert_eq!(
            (g.grade.as_str(), g.points, g.passed),
            (grade, points, passed),
            "{} ({:?}): total {total}",
            policy.name,
            policy.total_rounding
        );
    }
}

#[test]
fn five_point_scale_boundaries_rounding_totals_half_up() {
    let p = GradingPolicy::nigerian_five_point();
    assert_eq!(p, GradingPolicy::default());
    assert_eq!(p.total_rounding, TotalRounding::WholeHalfUp);
    check_boundaries(
        &p,
        &[
            ("0", "F", 0, false),
            ("39", "F", 0, false),
            ("39.4", "F", 0, false),
            ("39.5", "E", 1, true), // rounds to 40
            ("40", "E", 1, true),
            ("44", "E", 1, true),
            ("44.5", "D", 2, true), // rounds to 45
            ("45", "D", 2, true),
            ("49", "D", 2, true),
            ("50", "C", 3, true),
            ("59", "C", 3, true),
            ("60", "B", 4, true),
            ("69", "B", 4, true),
            ("69.5", "A", 5, true), // rounds to 70
            ("70", "A", 5, true),
            ("100", "A", 5, true),
        ],
    );
}

#[test]
fn five_point_scale_boundaries_grading_the_exact_total() {
    let p = with_rounding(GradingPolicy::nigerian_five_point(), TotalRounding::Exact);
    check_boundaries(
        &p,
        &[
            ("39", "F", 0, false),
            ("39.5", "F", 0, false),
            ("39.9", "F", 0, false),
            ("40", "E", 1, true),
            ("44", "E", 1, true),
            ("44.5", "E", 1, true),
            ("45", "D", 2, true),
            ("49", "D", 2, true),
            ("50", "C", 3, true),
            ("59", "C", 3, true),
            ("60", "B", 4, true),
            ("69", "B", 4, true),
            ("69.5", "B", 4, true),
            ("70", "A", 5, true),
            ("100", "A", 5, true),
        ],
    );
}

#[test]
fn scale_without_e_fails_everything_below_45() {
    let half_up = GradingPolicy::five_point_without_e();
    assert_eq!(half_up.pass_mark, Score::from_marks(45));
    check_boundaries(
        &half_up,
        &[
            ("39", "F", 0, false),
            ("39.5", "F", 0, false),
            ("40", "F", 0, false),
            ("44", "F", 0, false),
            ("44.5", "D", 2, true),
            ("45", "D", 2, true),
            ("49", "D", 2, true),
            ("50", "C", 3, true),
            ("59", "C", 3, true),
            ("60", "B", 4, true),
            ("69", "B", 4, true),
            ("69.5", "A", 5, true),
            ("70", "A", 5, true),
            ("100", "A", 5, true),
        ],
    );
    let exact = with_rounding(GradingPolicy::five_point_without_e(), TotalRounding::Exact);
    check_boundaries(
        &exact,
        &[
            ("44.5", "F", 0, false),
            ("45", "D", 2, true),
            ("69.5", "B", 4, true),
            ("70", "A", 5, true),
        ],
    );
}

#[test]
fn four_point_scale_boundaries() {
    let half_up = GradingPolicy::four_point();
    assert_eq!(half_up.max_points(), 4);
    check_boundaries(
        &half_up,
        &[
            ("39", "F", 0, false),
            ("39.5", "F", 0, false),
            ("40", "F", 0, false),
            ("44", "F", 0, false),
            ("44.5", "D", 1, true),
            ("45", "D", 1, true),
            ("49", "D", 1, true),
            ("50", "C", 2, true),
            ("59", "C", 2, true),
            ("60", "B", 3, true),
            ("69", "B", 3, true),
            ("69.5", "A", 4, true),
            ("70", "A", 4, true),
            ("100", "A", 4, true),
        ],
    );
    let exact = with_rounding(GradingPolicy::four_point(), TotalRounding::Exact);
    check_boundaries(
        &exact,
        &[
            ("44.5", "F", 0, false),
            ("45", "D", 1, true),
            ("69.5", "B", 3, true),
            ("70", "A", 4, true),
        ],
    );
}

#[test]
fn totals_and_the_graded_total() {
    let p = GradingPolicy::default();
    assert_eq!(p.total_max(), Score::from_marks(100));
    assert_eq!(p.max_points(), 5);
    assert_eq!(p.graded_total(score("69.4")), score("69"));
    assert_eq!(p.graded_total(score("69.5")), score("70"));
    assert_eq!(p.graded_total(score("99.5")), score("100"));
    let exact = with_rounding(p, TotalRounding::Exact);
    assert_eq!(exact.graded_total(score("69.5")), score("69.5"));
}

fn class_of(p: &GradingPolicy, cgpa: &str) -> Option<String> {
    p.class_of_degree(Gpa::parse(cgpa).unwrap())
        .map(str::to_string)
}

#[test]
fn classes_of_degree_on_the_five_point_scale() {
    let p = GradingPolicy::nigerian_five_point();
    let table = [
        ("5.00", Some("First Class")),
        ("4.50", Some("First Class")),
        ("4.49", Some("Second Class Upper")),
        ("3.50", Some("Second Class Upper")),
        ("3.49", Some("Second Class Lower")),
        ("2.40", Some("Second Class Lower")),
        ("2.39", Some("Third Class")),
        ("1.50", Some("Third Class")),
        ("1.49", Some("Pass")),
        ("1.00", Some("Pass")),
        ("0.99", None),
        ("0.00", None),
    ];
    for (cgpa, class) in table {
        assert_eq!(class_of(&p, cgpa).as_deref(), class, "CGPA {cgpa}");
    }
}

#[test]
fn classes_of_degree_on_the_four_point_scale() {
    let p = GradingPolicy::four_point();
    let table = [
        ("4.00", Some("First Class")),
        ("3.50", Some("First Class")),
        ("3.49", Some("Second Class Upper")),
        ("3.00", Some("Second Class Upper")),
        ("2.99", Some("Second Class Lower")),
        ("2.00", Some("Second Class Lower")),
        ("1.99", Some("Third Class")),
        ("1.00", Some("Third Class")),
        ("0.99", None),
    ];
    for (cgpa, class) in table {
        assert_eq!(class_of(&p, cgpa).as_deref(), class, "CGPA {cgpa}");
    }
}

#[test]
fn bands_and_classes_may_be_listed_in_any_order() {
    let mut p = GradingPolicy::nigerian_five_point();
    p.bands.reverse();
    p.classes.reverse();
    p.validate().unwrap();
    assert_eq!(p.grade(score("72")).grade, "A");
    assert_eq!(p.grade(score("41")).grade, "E");
    assert_eq!(class_of(&p, "4.50").as_deref(), Some("First Class"));
}

fn band(grade: &str, min: u16, points: u8) -> GradeBand {
    GradeBand {
        grade: grade.into(),
        min_total: Score::from_marks(min),
        points,
    }
}

#[test]
fn validation_names_what_is_wrong() {
    let base = GradingPolicy::nigerian_five_point;
    let invalid = |edit: &dyn Fn(&mut GradingPolicy)| {
        let mut p = base();
        edit(&mut p);
        p.validate().expect_err("policy should be refused")
    };
    assert_eq!(invalid(&|p| p.bands.clear()), PolicyError::NoBands);
    assert_eq!(
        invalid(&|p| p.bands.retain(|b| b.grade != "F")),
        PolicyError::NoZeroBand
    );
    assert_eq!(
        invalid(&|p| p.bands.push(band("B+", 60, 4))),
        PolicyError::DuplicateBand(Score::from_marks(60))
    );
    assert_eq!(
        invalid(&|p| p.bands[1].points = 6),
        PolicyError::PointsNotMonotone("A".into())
    );
    assert_eq!(
        invalid(&|p| p.exam_max = Score::from_marks(70)),
        PolicyError::BadMaxima
    );
    assert_eq!(
        invalid(&|p| {
            p.ca_max = Score::ZERO;
            p.exam_max = Score::ZERO;
        }),
        PolicyError::BadMaxima
    );
    assert_eq!(
        invalid(&|p| p.pass_mark = Score::from_marks(101)),
        PolicyError::BadPassMark(Score::from_marks(101))
    );
    assert_eq!(
        invalid(&|p| p.bands[0].grade = " ".into()),
        PolicyError::BlankName
    );
    assert_eq!(
        invalid(&|p| p.classes[0].name = String::new()),
        PolicyError::BlankName
    );
    assert_eq!(
        invalid(&|p| p.bands[1].grade = "A".into()),
        PolicyError::DuplicateGrade("A".into())
    );
    assert_eq!(
        invalid(&|p| {
            p.ca_max = Score::from_marks(30);
            p.exam_max = Score::from_marks(30);
        }),
        PolicyError::BandAboveMaximum("A".into())
    );
    assert_eq!(
        invalid(&|p| p.pass_mark = Score::from_marks(42)),
        PolicyError::PassMarkInsideBand(Score::from_marks(42))
    );
    assert_eq!(
        invalid(&|p| p.pass_mark = Score::from_marks(45)),
        PolicyError::FailingGradeEarnsPoints("E".into())
    );
    assert_eq!(
        invalid(&|p| p.classes.push(DegreeClass {
            name: "Distinction".into(),
            min_cgpa: Gpa::from_hundredths(450),
        })),
        PolicyError::DuplicateClass(Gpa::from_hundredths(450))
    );
    assert_eq!(
        invalid(&|p| p.classes[0].min_cgpa = Gpa::from_hundredths(501)),
        PolicyError::ClassAboveScale("First Class".into())
    );
}

#[test]
fn validation_messages_read_as_sentences() {
    assert_eq!(
        PolicyError::PassMarkInsideBand(Score::from_tenths(425)).to_string(),
        "pass mark 42.5 falls inside a grade band; it must be where a band starts, so a grade \
         is either always a pass or always a fail"
    );
    assert_eq!(
        PolicyError::DuplicateClass(Gpa::from_hundredths(450)).to_string(),
        "two classes of degree start at the same CGPA 4.50"
    );
}

#[test]
fn a_custom_policy_is_just_data() {
    // CA 30 + exam 70, a pass mark of 50, two grades only.
    let p = GradingPolicy {
        name: "pass/fail".into(),
        ca_max: Score::from_marks(30),
        exam_max: Score::from_marks(70),
        bands: vec![band("P", 50, 1), band("F", 0, 0)],
        pass_mark: Score::from_marks(50),
        total_rounding: TotalRounding::Exact,
        gpa_rounding: GpaRounding::Truncate,
        retake: RetakePolicy::LatestReplaces,
        absence: Default::default(),
        classes: vec![],
    };
    p.validate().unwrap();
    assert_eq!(p.grade(score("49.9")).grade, "F");
    assert!(p.grade(score("50")).passed);
    assert_eq!(p.class_of_degree(Gpa::from_points(1)), None);
}

#[test]
fn policies_round_trip_through_their_stored_json() {
    for p in [
        GradingPolicy::nigerian_five_point(),
        GradingPolicy::five_point_without_e(),
        GradingPolicy::four_point(),
        with_rounding(GradingPolicy::four_point(), TotalRounding::Exact),
    ] {
        let json = p.to_json();
        assert_eq!(GradingPolicy::from_json(&json).unwrap(), p);
        assert_eq!(serde_json::from_str::<GradingPolicy>(&json).unwrap(), p);
    }
    // Field spellings are part of the stored format: a rename would orphan stored policies.
    let v: serde_json::Value = serde_json::to_value(GradingPolicy::default()).unwrap();
    assert_eq!(v["total_rounding"], "whole_half_up");
    assert_eq!(v["gpa_rounding"], "half_up");
    assert_eq!(v["retake"], "all_attempts_count");
    assert_eq!(v["pass_mark"], 400, "scores are stored in tenths");
    assert_eq!(
        v["classes"][0]["min_cgpa"], "4.50",
        "CGPAs are stored as exact strings"
    );
}

#[test]
fn stored_json_that_is_unreadable_or_invalid_is_refused_with_the_reason() {
    let err = GradingPolicy::from_json("{").unwrap_err();
    assert!(err.starts_with("unreadable grading policy: "), "{err}");

    let mut v = serde_json::to_value(GradingPolicy::default()).unwrap();
    v["pass_mark"] = 420.into();
    let err = GradingPolicy::from_json(&v.to_string()).unwrap_err();
    assert!(
        err.starts_with("invalid grading policy: pass mark 42 falls inside a grade band"),
        "{err}"
    );

    let mut v = serde_json::to_value(GradingPolicy::default()).unwrap();
    v["retake"] = "best_attempt".into();
    let err = GradingPolicy::from_json(&v.to_string()).unwrap_err();
    assert!(err.contains("best_attempt"), "{err}");
}
