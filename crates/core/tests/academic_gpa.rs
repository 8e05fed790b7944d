//! Worked examples of GPA and CGPA, each computed by hand in a comment: a realistic
//! semester, four semesters of CGPA, rounding half-up against truncation, and the two retake
//! rules on a failed-then-passed course.

use eportal_core::gpa::{cgpa, counted, gpa, summarise, Attempt, Tally};
use eportal_core::grading::{GpaRounding, RetakePolicy};
use eportal_core::{AcademicSession, CourseCode, Gpa, GradingPolicy, Score, Semester};

fn term(session: u16, semester: Semester) -> (AcademicSession, Semester) {
    (AcademicSession::new(session).unwrap(), semester)
}

/// An attempt graded from its CA and exam scores by the policy, as the pipeline does.
fn graded(
    policy: &GradingPolicy,
    code: &str,
    units: u8,
    ca: &str,
    exam: &str,
    at: (AcademicSession, Semester),
) -> Attempt {
    let total = Score::parse(ca)
        .unwrap()
        .checked_add(Score::parse(exam).unwrap())
        .unwrap();
    Attempt {
        course: CourseCode::parse(code).unwrap(),
        session: at.0,
        semester: at.1,
        units,
        points: policy.grade(total).points,
    }
}

fn with_points(code: &str, units: u8, points: u8, at: (AcademicSession, Semester)) -> Attempt {
    Attempt {
        course: CourseCode::parse(code).unwrap(),
        session: at.0,
        semester: at.1,
        units,
        points,
    }
}

fn g(s: &str) -> Gpa {
    Gpa::parse(s).unwrap()
}

/// First semester of a 100-level student, graded from real CA + exam scores:
///
/// | course  | units | CA + exam     | total | grade | points | units × points |
/// |---------|-------|---------------|-------|-------|--------|----------------|
/// | CSC 101 | 3     | 28 + 47       | 75    | A     | 5      | 15             |
/// | MTH 101 | 3     | 25 + 38       | 63    | B     | 4      | 12             |
/// | PHY 101 | 2     | 20 + 32       | 52    | C     | 3      | 6              |
/// | CHM 101 | 2     | 15 + 31       | 46    | D     | 2      | 4              |
/// | BIO 101 | 3     | 12.5 + 29.5   | 42    | E     | 1      | 3              |
/// | GST 101 | 1     | 10 + 22       | 32    | F     | 0      | 0              |
///
/// Σ units = 14, Σ units × points = 40, GPA = 40 ÷ 14 = 2.857142… → 2.86 half-up, 2.85
/// truncated.
fn first_semester(policy: &GradingPolicy) -> Vec<Attempt> {
    let t = term(2021, Semester::First);
    vec![
        graded(policy, "CSC 101", 3, "28", "47", t),
        graded(policy, "MTH 101", 3, "25", "38", t),
        graded(policy, "PHY 101", 2, "20", "32", t),
        graded(policy, "CHM 101", 2, "15", "31", t),
        graded(policy, "BIO 101", 3, "12.5", "29.5", t),
        graded(policy, "GST 101", 1, "10", "22", t),
    ]
}

#[test]
fn a_semester_of_six_courses() {
    let mut policy = GradingPolicy::nigerian_five_point();
    let sem = first_semester(&policy);
    let points: Vec<u8> = sem.iter().map(|a| a.points).collect();
    assert_eq!(points, [5, 4, 3, 2, 1, 0]);
    assert_eq!(
        Tally::of(&sem),
        Tally {
            units: 14,
            weighted: 40
        }
    );
    assert_eq!(gpa(&sem, &policy), g("2.86"));
    policy.gpa_rounding = GpaRounding::Truncate;
    assert_eq!(gpa(&sem, &policy), g("2.85"));
}

/// A whole first year and second year, hand-computed:
///
/// | term        | units | Σ u×p | GPA              | cum. units | cum. Σ | CGPA             |
/// |-------------|-------|-------|------------------|------------|--------|------------------|
/// | 2021/22 1st | 14    | 40    | 2.857… → 2.86    | 14         | 40     | 2.86             |
/// | 2021/22 2nd | 15    | 62    | 4.133… → 4.13    | 29         | 102    | 3.517… → 3.52    |
/// | 2022/23 1st | 14    | 48    | 3.428… → 3.43    | 43         | 150    | 3.488… → 3.49    |
/// | 2022/23 2nd | 14    | 66    | 4.714… → 4.71    | 57         | 216    | 3.789… → 3.79    |
///
/// Truncated instead, the CGPA after the third term is 3.48 rather than 3.49.
fn two_years(policy: &GradingPolicy) -> Vec<Attempt> {
    let s2 = term(2021, Semester::Second);
    let s3 = term(2022, Semester::First);
    let s4 = term(2022, Semester::Second);
    let mut all = first_semester(policy);
    all.extend([
        // 3×5 + 3×5 + 3×4 + 2×4 + 2×3 + 2×3 = 62 over 15 units
        with_points("CSC 102", 3, 5, s2),
        with_points("MTH 102", 3, 5, s2),
        with_points("PHY 102", 3, 4, s2),
        with_points("CHM 102", 2, 4, s2),
        with_points("BIO 102", 2, 3, s2),
        with_points("GST 102", 2, 3, s2),
        // 3×4 + 3×4 + 3×3 + 3×5 + 2×0 = 48 over 14 units
        with_points("CSC 201", 3, 4, s3),
        with_points("MTH 201", 3, 4, s3),
        with_points("CSC 203", 3, 3, s3),
        with_points("STA 201", 3, 5, s3),
        with_points("GST 201", 2, 0, s3),
        // 3×5 + 3×5 + 3×5 + 2×4 + 2×4 + 1×5 = 66 over 14 units
        with_points("CSC 202", 3, 5, s4),
        with_points("CSC 204", 3, 5, s4),
        with_points("MTH 202", 3, 5, s4),
        with_points("CSC 206", 2, 4, s4),
        with_points("STA 202", 2, 4, s4),
        with_points("ENT 202", 1, 5, s4),
    ]);
    all
}

#[test]
fn cgpa_across_four_semesters() {
    let policy = GradingPolicy::default();
    let all = two_years(&policy);
    let rows: Vec<(u32, u32, Gpa, u32, u32, Gpa)> = summarise(&all, &policy)
        .into_iter()
        .map(|s| {
            (
                s.tally.units,
                s.tally.weighted,
                s.gpa,
                s.cumulative.units,
                s.cumulative.weighted,
                s.cgpa,
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            (14, 40, g("2.86"), 14, 40, g("2.86")),
            (15, 62, g("4.13"), 29, 102, g("3.52")),
            (14, 48, g("3.43"), 43, 150, g("3.49")),
            (14, 66, g("4.71"), 57, 216, g("3.79")),
        ]
    );
    let terms: Vec<_> = summarise(&all, &policy)
        .iter()
        .map(|s| (s.session.start_year(), s.semester))
        .collect();
    assert_eq!(
        terms,
        [
            (2021, Semester::First),
            (2021, Semester::Second),
            (2022, Semester::First),
            (2022, Semester::Second),
        ]
    );
    assert_eq!(cgpa(&all, &policy), g("3.79"));
    assert_eq!(
        policy.class_of_degree(cgpa(&all, &policy)),
        Some("Second Class Upper")
    );

    // After the third semester: 150 ÷ 43 = 3.4883… → 3.49 half-up, 3.48 truncated; both
    // Second Class Lower, since class is decided on the rounded CGPA, which is below 3.50.
    let to_third: Vec<Attempt> = all
        .iter()
        .filter(|a| a.session.start_year() == 2021 || a.semester == Semester::First)
        .cloned()
        .collect();
    assert_eq!(cgpa(&to_third, &policy), g("3.49"));
    let truncating = GradingPolicy {
        gpa_rounding: GpaRounding::Truncate,
        ..policy.clone()
    };
    assert_eq!(cgpa(&to_third, &truncating), g("3.48"));
    assert_eq!(
        policy.class_of_degree(cgpa(&to_third, &policy)),
        Some("Second Class Lower")
    );
}

/// 25 ÷ 8 = 3.125 exactly: half-up gives 3.13, truncation 3.12. A float computation would
/// see 3.125 as 3.12499… or 3.12500…1 depending on the path; integers see the exact half.
#[test]
fn half_up_and_truncate_differ_on_an_exact_half() {
    let t = term(2023, Semester::First);
    // 3×5 + 3×2 + 2×2 = 25 over 8 units
    let sem = [
        with_points("CSC 301", 3, 5, t),
        with_points("CSC 303", 3, 2, t),
        with_points("CSC 305", 2, 2, t),
    ];
    let mut policy = GradingPolicy::default();
    assert_eq!(policy.gpa_rounding, GpaRounding::HalfUp);
    assert_eq!(gpa(&sem, &policy), g("3.13"));
    policy.gpa_rounding = GpaRounding::Truncate;
    assert_eq!(gpa(&sem, &policy), g("3.12"));
    // 1 ÷ 3 = 0.333…: both rules agree when the third decimal is below 5.
    let third = [
        with_points("GST 111", 3, 1, t),
        with_points("GST 112", 6, 0, t),
    ];
    assert_eq!(gpa(&third, &policy), g("0.33"));
    policy.gpa_rounding = GpaRounding::HalfUp;
    assert_eq!(gpa(&third, &policy), g("0.33"));
}

/// CSC 101 (3 units) A = 5 in 2021/22; MTH 101 (3 units) F = 0 in 2021/22, retaken in
/// 2022/23 for C = 3.
///
/// - Every attempt counts: (15 + 0 + 9) ÷ (3 + 3 + 3) = 24 ÷ 9 = 2.666… → 2.67.
/// - The latest replaces:  (15 + 9) ÷ (3 + 3) = 24 ÷ 6 = 4.00.
#[test]
fn retake_rules_on_a_failed_then_passed_course() {
    let first = term(2021, Semester::First);
    let retake = term(2022, Semester::First);
    let record = [
        with_points("CSC 101", 3, 5, first),
        with_points("MTH 101", 3, 0, first),
        with_points("MTH 101", 3, 3, retake),
    ];
    let all_count = GradingPolicy::default();
    assert_eq!(all_count.retake, RetakePolicy::AllAttemptsCount);
    assert_eq!(cgpa(&record, &all_count), g("2.67"));
    assert_eq!(counted(&record, &all_count).len(), 3);

    let replaces = GradingPolicy {
        retake: RetakePolicy::LatestReplaces,
        ..GradingPolicy::default()
    };
    assert_eq!(cgpa(&record, &replaces), g("4.00"));
    let kept: Vec<(&str, u8)> = counted(&record, &replaces)
        .iter()
        .map(|a| (a.course.as_str(), a.points))
        .collect();
    assert_eq!(kept, [("CSC 101", 5), ("MTH 101", 3)]);

    // The running CGPA after the first year still shows the failure under both rules: the
    // retake cannot reach back into a semester that came before it.
    let summary = summarise(&record, &replaces);
    assert_eq!(summary[0].cgpa, g("2.50"));
    assert_eq!(summary[1].cgpa, g("4.00"));
    // The semester GPA of the retake term is that term's own courses only.
    assert_eq!(summary[1].gpa, g("3.00"));
}

#[test]
fn nothing_graded_is_zero_not_a_division_by_zero() {
    let policy = GradingPolicy::default();
    assert_eq!(gpa(&[], &policy), Gpa::from_hundredths(0));
    assert_eq!(cgpa(&[], &policy), Gpa::from_hundredths(0));
    assert!(summarise(&[], &policy).is_empty());
    // A zero-unit course (e.g. a non-credit seminar) carries no weight either way.
    let t = term(2021, Semester::First);
    let seminar = [with_points("SEM 100", 0, 5, t)];
    assert_eq!(gpa(&seminar, &policy), Gpa::from_hundredths(0));
}
