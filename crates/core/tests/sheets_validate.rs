//! Judging rows: each rejection kind with its row number and message, the order in which
//! reasons are checked, the duplicate rules, and grades of accepted rows. Expected values
//! are worked out by hand from the grading policy in DESIGN.md.

use eportal_core::grading::GradingPolicy;
use eportal_core::sheet::{
    parse, validate, validate_by, AcceptedRow, ParsedSheet, RawRow, Roster, RowErrorKind,
    SheetFormat, SheetLimits, Validated,
};
use eportal_core::{MatricNo, Score};

fn m(s: &str) -> MatricNo {
    MatricNo::parse(s).unwrap()
}

fn roster(known: &[&str], registered: &[&str]) -> Roster {
    Roster {
        known: known.iter().map(|s| m(s)).collect(),
        registered: registered.iter().map(|s| m(s)).collect(),
        ..Roster::default()
    }
}

/// Everyone named is known and registered.
fn everyone(names: &[&str]) -> Roster {
    roster(names, names)
}

fn sheet(rows: &[(usize, &str, &str, &str)]) -> ParsedSheet {
    ParsedSheet {
        format: SheetFormat::Csv,
        header_row: 1,
        rows: rows
            .iter()
            .map(|&(row, matric, ca, exam)| RawRow {
                row,
                matric: matric.into(),
                ca: ca.into(),
                exam: exam.into(),
            })
            .collect(),
        sheet_name: None,
    }
}

fn kinds(v: &Validated) -> Vec<(usize, RowErrorKind)> {
    v.rejected.iter().map(|e| (e.row, e.kind)).collect()
}

fn tenths(t: u16) -> Score {
    Score::from_tenths(t)
}

#[test]
fn the_bad_rows_fixture_row_by_row() {
    let bytes = std::fs::read(format!(
        "{}/tests/fixtures/sheets/bad_rows.csv",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let parsed = parse(&bytes, &SheetLimits::default()).unwrap();
    let students: Vec<String> = (1..=11).map(|n| format!("SCI/2021/{n:03}")).collect();
    let registered: Vec<&str> = students.iter().map(String::as_str).collect();
    let mut known = registered.clone();
    known.push("SCI/2021/050");
    let v = validate(
        &parsed,
        &roster(&known, &registered),
        &GradingPolicy::default(),
    );

    use RowErrorKind::*;
    assert_eq!(
        kinds(&v),
        vec![
            (3, MissingMatric),
            (4, InvalidMatric),
            (5, UnknownStudent),
            (6, NotRegistered),
            (7, Absent),
            (8, Incomplete),
            (9, NotANumber),
            (10, OutOfRange),
            (12, Duplicate),
            (13, Duplicate),
            (14, Duplicate),
            (15, OutOfRange),
            (16, NotANumber),
            (18, OutOfRange),
        ]
    );
    assert_eq!(
        v.accepted,
        vec![
            AcceptedRow {
                row: 2,
                matric: m("SCI/2021/001"),
                ca: Score::from_marks(30),
                exam: Score::from_marks(55),
                total: Score::from_marks(85),
                grade: "A".into(),
                points: 5,
            },
            AcceptedRow {
                row: 11,
                matric: m("SCI/2021/006"),
                ca: Score::from_marks(20),
                exam: Score::from_marks(40),
                total: Score::from_marks(60),
                grade: "B".into(),
                points: 4,
            },
            // "ABS" in the exam column: recorded as absent, with the CA earned.
            AcceptedRow {
                row: 17,
                matric: m("SCI/2021/010"),
                ca: Score::from_marks(20),
                exam: Score::ZERO,
                total: Score::from_marks(20),
                grade: "ABS".into(),
                points: 0,
            },
        ]
    );
    let msg = |row: usize| {
        v.rejected
            .iter()
            .find(|e| e.row == row)
            .map(|e| e.message.clone())
            .unwrap()
    };
    assert_eq!(msg(10), "row 10: exam score 65 is above the maximum of 60");
    assert_eq!(msg(18), "row 18: CA score 45 is above the maximum of 40");
    assert_eq!(msg(15), "row 15: CA score -5 is below 0");
    assert_eq!(msg(9), "row 9: CA score 'twenty' is not a number");
    assert_eq!(
        msg(16),
        "row 16: CA score 20.25 has more than one decimal place; round it to one"
    );
    assert!(msg(3).starts_with("row 3: the matric number is missing"));
    assert!(msg(4).contains("'SCI#2021'"), "{}", msg(4));
    assert!(msg(5).contains("SCI/2021/999"), "{}", msg(5));
    assert!(
        msg(6).contains("not registered for this course"),
        "{}",
        msg(6)
    );
    assert!(msg(7).contains("write ABS"), "{}", msg(7));
    assert!(msg(8).contains("incomplete"), "{}", msg(8));
    assert!(msg(12).contains("same as row 11"), "{}", msg(12));
    assert!(msg(13).contains("rows 13 and 14"), "{}", msg(13));
    assert!(msg(14).contains("rows 13 and 14"), "{}", msg(14));

    // Each rejection carries the matric text as written, or none when there was none.
    let matric_of = |row: usize| {
        v.rejected
            .iter()
            .find(|e| e.row == row)
            .unwrap()
            .matric
            .clone()
    };
    assert_eq!(matric_of(3), None);
    assert_eq!(matric_of(4).as_deref(), Some("SCI#2021"));
    assert_eq!(matric_of(12).as_deref(), Some("sci/2021/006"));
}

#[test]
fn a_row_is_rejected_for_the_first_thing_wrong_with_it() {
    use RowErrorKind::*;
    let s = sheet(&[
        (2, "", "abc", ""),      // missing matric before anything about scores
        (3, "A/1!", "99", "99"), // invalid matric before scores
        (4, "X/404", "abc", ""), // unknown student before scores
        (5, "X/7", "", ""),      // not registered before absent
        (6, "A/1", "abc", ""),   // exam empty (absent) before CA not a number
        (7, "A/2", "", "abc"),   // CA empty (incomplete) before exam not a number
        (8, "A/3", "abc", "99"), // CA not a number before exam out of range
        (9, "A/4", "45", "abc"), // CA out of range only after exam is a number
        (10, "A/5", "45", "61"), // CA out of range before exam out of range
    ]);
    let r = roster(
        &["A/1", "A/2", "A/3", "A/4", "A/5", "X/7"],
        &["A/1", "A/2", "A/3", "A/4", "A/5"],
    );
    let v = validate(&s, &r, &GradingPolicy::default());
    assert!(v.accepted.is_empty());
    assert_eq!(
        kinds(&v),
        vec![
            (2, MissingMatric),
            (3, InvalidMatric),
            (4, UnknownStudent),
            (5, NotRegistered),
            (6, Absent),
            (7, Incomplete),
            (8, NotANumber),
            (9, NotANumber),
            (10, OutOfRange),
        ]
    );
    assert_eq!(
        v.rejected[8].message,
        "row 10: CA score 45 is above the maximum of 40"
    );
}

#[test]
fn duplicates_are_judged_before_the_roster() {
    // An unknown student listed twice differently is first a duplicate to sort out.
    let s = sheet(&[(2, "X/404", "10", "20"), (3, "X/404", "11", "20")]);
    let v = validate(&s, &Roster::default(), &GradingPolicy::default());
    assert_eq!(
        kinds(&v),
        vec![(2, RowErrorKind::Duplicate), (3, RowErrorKind::Duplicate)]
    );
}

#[test]
fn identical_copies_keep_the_first_and_reject_the_rest() {
    let s = sheet(&[
        (2, "A/1", "30", "50"),
        (5, "a/1", "30.0", " 50 "),
        (9, "A/1", "30", "50"),
    ]);
    let v = validate(&s, &everyone(&["A/1"]), &GradingPolicy::default());
    assert_eq!(v.accepted.len(), 1);
    assert_eq!(v.accepted[0].row, 2);
    assert_eq!(
        kinds(&v),
        vec![(5, RowErrorKind::Duplicate), (9, RowErrorKind::Duplicate)]
    );
    for e in &v.rejected {
        assert!(e.message.contains("same as row 2"), "{}", e.message);
    }
}

#[test]
fn conflicting_copies_are_all_rejected_naming_every_row() {
    let s = sheet(&[
        (2, "A/1", "30", "50"),
        (3, "B/2", "10", "10"),
        (5, "A/1", "30", "50"),
        (9, "A/1", "30", "51"),
    ]);
    let v = validate(&s, &everyone(&["A/1", "B/2"]), &GradingPolicy::default());
    assert_eq!(
        v.accepted.iter().map(|a| a.row).collect::<Vec<_>>(),
        vec![3]
    );
    assert_eq!(
        kinds(&v),
        vec![
            (2, RowErrorKind::Duplicate),
            (5, RowErrorKind::Duplicate),
            (9, RowErrorKind::Duplicate)
        ]
    );
    for e in &v.rejected {
        assert!(e.message.contains("rows 2, 5 and 9"), "{}", e.message);
        assert_eq!(e.matric.as_deref(), Some("A/1"));
    }
}

#[test]
fn totals_and_grades_follow_the_policy() {
    let s = sheet(&[
        (2, "A/1", "25.5", "40"), // 65.5 -> B
        (3, "A/2", "30", "39.5"), // 69.5 rounds to 70 for grading -> A, total kept as 69.5
        (4, "A/3", "0", "0"),     // 0 -> F
        (5, "A/4", "40", "60"),   // the maxima themselves are allowed -> 100, A
        (6, "A/5", "20", "24,5"), // decimal comma: 44.5 -> rounds to 45 -> D
    ]);
    let who = ["A/1", "A/2", "A/3", "A/4", "A/5"];
    let v = validate(&s, &everyone(&who), &GradingPolicy::default());
    assert!(v.rejected.is_empty(), "{:?}", v.rejected);
    let got: Vec<(Score, &str, u8)> = v
        .accepted
        .iter()
        .map(|a| (a.total, a.grade.as_str(), a.points))
        .collect();
    assert_eq!(
        got,
        vec![
            (tenths(655), "B", 4),
            (tenths(695), "A", 5),
            (tenths(0), "F", 0),
            (tenths(1000), "A", 5),
            (tenths(445), "D", 2),
        ]
    );
    assert_eq!(v.accepted[4].exam, tenths(245));

    let four = validate(&s, &everyone(&who), &GradingPolicy::four_point());
    let points: Vec<u8> = four.accepted.iter().map(|a| a.points).collect();
    assert_eq!(points, vec![3, 4, 0, 4, 1]);
}

#[test]
fn each_row_is_graded_under_its_students_policy() {
    // The same 65.5 is B on both scales: 4 points on the 5-point scale (A/1), 3 on the
    // 4-point scale the other student's cohort is graded under (A/2).
    let s = sheet(&[(2, "A/1", "25.5", "40"), (3, "A/2", "25.5", "40")]);
    let (five, four) = (GradingPolicy::default(), GradingPolicy::four_point());
    let policy_of = |who: &MatricNo| if who.as_str() == "A/2" { &four } else { &five };
    let v = validate_by(&s, &everyone(&["A/1", "A/2"]), &policy_of);
    let got: Vec<(&str, u8)> = v
        .accepted
        .iter()
        .map(|a| (a.grade.as_str(), a.points))
        .collect();
    assert_eq!(got, vec![("B", 4), ("B", 3)]);
}

#[test]
fn maxima_come_from_the_policy() {
    let policy = GradingPolicy {
        ca_max: Score::from_marks(30),
        exam_max: Score::from_marks(70),
        ..GradingPolicy::default()
    };
    let s = sheet(&[(2, "A/1", "35", "50"), (3, "A/2", "30", "65")]);
    let v = validate(&s, &everyone(&["A/1", "A/2"]), &policy);
    assert_eq!(v.rejected.len(), 1);
    assert_eq!(
        v.rejected[0].message,
        "row 2: CA score 35 is above the maximum of 30"
    );
    assert_eq!(v.accepted[0].total, Score::from_marks(95));
}

#[test]
fn fully_blank_rows_are_skipped_silently() {
    let s = sheet(&[(2, " ", "", "  "), (3, "A/1", "30", "50")]);
    let v = validate(&s, &everyone(&["A/1"]), &GradingPolicy::default());
    assert!(v.rejected.is_empty());
    assert_eq!(v.accepted.len(), 1);
}

#[test]
fn absent_words_in_the_exam_column() {
    let s = sheet(&[
        (2, "A/1", "30", "abs"),
        (3, "A/2", "30", "Absent"),
        (4, "A/3", "30", "AB"),
    ]);
    let v = validate(
        &s,
        &everyone(&["A/1", "A/2", "A/3"]),
        &GradingPolicy::default(),
    );
    // Recorded as absent (not left out), with the CA they earned and no points.
    assert!(v.rejected.is_empty(), "{:?}", v.rejected);
    let absent: Vec<(usize, &str, u16, u16, u8)> = v
        .accepted
        .iter()
        .map(|a| {
            (
                a.row,
                a.grade.as_str(),
                a.ca.tenths(),
                a.exam.tenths(),
                a.points,
            )
        })
        .collect();
    assert_eq!(
        absent,
        vec![
            (2, "ABS", 300, 0, 0),
            (3, "ABS", 300, 0, 0),
            (4, "ABS", 300, 0, 0)
        ]
    );
}

#[test]
fn an_empty_exam_cell_is_not_an_absence() {
    // A blank may be a score not yet typed in: the lecturer must say ABS to record absence.
    let s = sheet(&[
        (2, "A/1", "30", ""),
        (3, "A/2", "", "ABS"),
        (4, "A/3", "55", "ABS"),
    ]);
    let v = validate(
        &s,
        &everyone(&["A/1", "A/2", "A/3"]),
        &GradingPolicy::default(),
    );
    assert_eq!(
        kinds(&v),
        vec![(2, RowErrorKind::Absent), (4, RowErrorKind::OutOfRange)]
    );
    assert!(
        v.rejected[0].message.contains("write ABS"),
        "{}",
        v.rejected[0].message
    );
    assert_eq!(v.accepted.len(), 1);
    assert_eq!((v.accepted[0].row, v.accepted[0].ca), (3, Score::ZERO));
}
