use super::*;
use crate::grading::GradingPolicy;
use crate::policy_book::PolicyScope;

fn s(y: u16) -> AcademicSession {
    AcademicSession::new(y).unwrap()
}

fn row(matric: &str, code: &str, units: u8, sem: Semester, total: u16, entry: u16) -> RegradeRow {
    let mut r = RegradeRow {
        matric: MatricNo::parse(matric).unwrap(),
        course: CourseCode::parse(code).unwrap(),
        session: s(2024),
        semester: sem,
        units,
        total: Score::from_marks(total),
        score_version: 1,
        entry: s(entry),
        grade: String::new(),
        points: 0,
    };
    let (g, p) = grade(&PolicyBook::default(), &r);
    (r.grade, r.points) = (g, p);
    r
}

#[test]
fn map_counts_only_rows_whose_grade_changes() {
    // Under the 4-point scale for the 2024 cohort: 65 is B on both scales but 3 points
    // instead of 4; the 2023 student's row is untouched.
    let book =
        PolicyBook::default().with(PolicyScope::Cohort(s(2024)), GradingPolicy::four_point());
    let mut rows = vec![
        row("CSC/2023/001", "CSC201", 3, Semester::First, 65, 2023),
        row("CSC/2024/001", "CSC201", 3, Semester::First, 65, 2024),
    ];
    assert_eq!(map(&book, &mut rows), 1);
    assert_eq!((rows[0].grade.as_str(), rows[0].points), ("B", 4));
    assert_eq!((rows[1].grade.as_str(), rows[1].points), ("B", 3));
    assert_eq!(map(&book, &mut rows), 0, "mapping twice changes nothing");
}

#[test]
fn reduce_groups_by_student_whatever_the_order() {
    // Student 1: first semester 3 units × A(5) = 15 → 5.00; second semester 2 units × F(0)
    // → 0.00, CGPA 15/5 = 3.00. Student 2: one course, 2 units × C(3) → 3.00.
    let book = PolicyBook::default();
    let rows = vec![
        row("CSC/2023/001", "CSC202", 2, Semester::Second, 30, 2023),
        row("CSC/2023/002", "MTH201", 2, Semester::First, 55, 2023),
        row("CSC/2023/001", "CSC201", 3, Semester::First, 75, 2023),
    ];
    let out = reduce(&book, &rows);
    let got: Vec<(String, u16, u16)> = out
        .iter()
        .map(|r| {
            (
                r.matric_no.to_string(),
                r.gpa.hundredths(),
                r.cgpa.hundredths(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("CSC/2023/001".to_string(), 500, 500),
            ("CSC/2023/001".to_string(), 0, 300),
            ("CSC/2023/002".to_string(), 300, 300),
        ]
    );
}
