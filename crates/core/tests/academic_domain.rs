//! Parsing of the values people type (scores, matric numbers, course codes, sessions,
//! semesters, roles, GPAs): the spellings that must be accepted, what they normalise to, and
//! the words of the error a person sees when the value is refused.

use eportal_core::{AcademicSession, CourseCode, Gpa, MatricNo, Role, Score, Semester};

fn msg<T: std::fmt::Debug>(r: Result<T, eportal_core::ParseError>) -> String {
    r.expect_err("value should be refused").to_string()
}

#[test]
fn scores_accept_integers_one_decimal_and_stray_spaces() {
    let cases = [
        ("67", 670),
        (" 67 ", 670),
        ("67.5", 675),
        ("67.0", 670),
        ("67.50", 675),
        ("67.", 670),
        (".5", 5),
        ("0", 0),
        ("100", 1000),
        ("007", 70),
    ];
    for (typed, tenths) in cases {
        assert_eq!(
            Score::parse(typed).unwrap().tenths(),
            tenths,
            "typed {typed:?}"
        );
        assert_eq!(
            typed.parse::<Score>().unwrap().tenths(),
            tenths,
            "FromStr {typed:?}"
        );
    }
}

#[test]
fn scores_refuse_what_is_not_a_mark_and_say_why() {
    assert_eq!(msg(Score::parse("")), "score is empty");
    assert_eq!(msg(Score::parse("   ")), "score is empty");
    assert_eq!(msg(Score::parse("-5")), "score -5 is negative");
    assert_eq!(msg(Score::parse("abs")), "score 'abs' is not a number");
    assert_eq!(msg(Score::parse(".")), "score '.' is not a number");
    assert_eq!(msg(Score::parse("+5")), "score '+5' is not a number");
    assert_eq!(msg(Score::parse("1e2")), "score '1e2' is not a number");
    assert_eq!(msg(Score::parse("6 7")), "score '6 7' is not a number");
    assert_eq!(
        msg(Score::parse("67.5.1")),
        "score '67.5.1' is not a number"
    );
    assert_eq!(
        msg(Score::parse("67.25")),
        "score 67.25 has more than one decimal place"
    );
    assert_eq!(
        msg(Score::parse("67,5")),
        "score '67,5' uses a decimal comma; write it with a point, like '67.5'"
    );
    assert_eq!(msg(Score::parse("99999")), "score 99999 is far too large");
}

#[test]
fn scores_display_without_a_needless_decimal() {
    assert_eq!(Score::from_tenths(675).to_string(), "67.5");
    assert_eq!(Score::from_tenths(670).to_string(), "67");
    assert_eq!(Score::from_tenths(5).to_string(), "0.5");
    assert_eq!(Score::ZERO.to_string(), "0");
    assert_eq!(Score::from_marks(40), Score::from_tenths(400));
    assert_eq!(
        Score::from_marks(28).checked_add(Score::from_tenths(475)),
        Some(Score::from_tenths(755))
    );
    assert_eq!(
        Score::from_tenths(u16::MAX).checked_add(Score::from_tenths(1)),
        None
    );
}

#[test]
fn matric_numbers_are_trimmed_and_upper_cased() {
    assert_eq!(
        MatricNo::parse(" sci/2021/0042 ").unwrap().as_str(),
        "SCI/2021/0042"
    );
    assert_eq!(MatricNo::parse("190401023").unwrap().as_str(), "190401023");
    assert_eq!(
        MatricNo::parse("u2019-csc.012").unwrap().as_str(),
        "U2019-CSC.012"
    );
    assert_eq!(
        MatricNo::parse("sci/2021/0042").unwrap(),
        MatricNo::parse("SCI/2021/0042").unwrap()
    );
}

#[test]
fn matric_numbers_refuse_blank_long_and_odd_characters() {
    assert_eq!(msg(MatricNo::parse("  ")), "matric number is empty");
    assert_eq!(
        msg(MatricNo::parse("sci 2021 0042")),
        "matric number 'sci 2021 0042' may contain only letters, digits, '/', '-' and '.'"
    );
    assert_eq!(
        msg(MatricNo::parse(&"A".repeat(33))),
        format!(
            "matric number '{}' is longer than 32 characters",
            "A".repeat(33)
        )
    );
    assert!(MatricNo::parse(&"A".repeat(32)).is_ok());
}

#[test]
fn course_codes_normalise_to_letters_space_digits() {
    for typed in [
        "CSC 201",
        "csc201",
        "CSC-201",
        "CSC  201",
        " csc_201 ",
        "Csc 201",
    ] {
        assert_eq!(
            CourseCode::parse(typed).unwrap().as_str(),
            "CSC 201",
            "typed {typed:?}"
        );
    }
    assert_eq!(CourseCode::parse("gst111").unwrap().as_str(), "GST 111");
    assert_eq!(CourseCode::parse("ME 1").unwrap().as_str(), "ME 1");
    assert_eq!(
        CourseCode::parse("ENGR 4012").unwrap().as_str(),
        "ENGR 4012"
    );
}

#[test]
fn course_codes_refuse_other_shapes() {
    assert_eq!(msg(CourseCode::parse("")), "course code is empty");
    let shape = |t: &str| {
        format!("course code '{t}' should look like 'CSC 201' (2-4 letters, then up to 4 digits)")
    };
    for bad in [
        "C 201",
        "CHEMS 101",
        "CSC",
        "201",
        "CSC 20101",
        "CSC 2O1",
        "CSC 201A",
    ] {
        assert_eq!(msg(CourseCode::parse(bad)), shape(bad), "typed {bad:?}");
    }
}

#[test]
fn sessions_accept_the_usual_spellings() {
    for typed in ["2024/2025", "2024-2025", "2024/25", "2024", " 2024 / 2025 "] {
        let s = AcademicSession::parse(typed).unwrap();
        assert_eq!(s.start_year(), 2024, "typed {typed:?}");
        assert_eq!(s.to_string(), "2024/2025");
    }
    assert_eq!(
        AcademicSession::parse("2099/00").unwrap().to_string(),
        "2099/2100"
    );
    assert!(AcademicSession::parse("2023/2024").unwrap() < AcademicSession::parse("2024").unwrap());
}

#[test]
fn sessions_refuse_gaps_garbage_and_impossible_years() {
    assert_eq!(
        msg(AcademicSession::parse("2024/2026")),
        "session '2024/2026' should span two consecutive years, like '2024/2025'"
    );
    assert_eq!(
        msg(AcademicSession::parse("2024/26")),
        "session '2024/26' should span two consecutive years, like '2024/2025'"
    );
    assert_eq!(
        msg(AcademicSession::parse("2024/5")),
        "session '2024/5' should span two consecutive years, like '2024/2025'"
    );
    for bad in ["", "twenty", "+2024", "2024/+2025", "/2025", "20245"] {
        assert_eq!(
            msg(AcademicSession::parse(bad)),
            format!("session '{bad}' should look like '2024/2025'"),
            "typed {bad:?}"
        );
    }
    assert_eq!(
        msg(AcademicSession::parse("1066/1067")),
        "session start year 1066 is out of range"
    );
    // The range is checked before the end year is computed, so this cannot overflow.
    assert_eq!(
        msg(AcademicSession::parse("9999/0")),
        "session start year 9999 is out of range"
    );
}

#[test]
fn sessions_travel_as_their_display_string() {
    let s = AcademicSession::parse("2024/25").unwrap();
    assert_eq!(serde_json::to_string(&s).unwrap(), "\"2024/2025\"");
    assert_eq!(
        serde_json::from_str::<AcademicSession>("\"2024-2025\"").unwrap(),
        s
    );
    assert!(serde_json::from_str::<AcademicSession>("\"2024/2027\"").is_err());
}

#[test]
fn semesters_accept_numbers_words_and_season_names() {
    for typed in [
        "1",
        "first",
        "FIRST",
        "1st",
        "Harmattan",
        "First Semester",
        "semester 1",
    ] {
        assert_eq!(
            Semester::parse(typed).unwrap(),
            Semester::First,
            "typed {typed:?}"
        );
    }
    for typed in [
        "2",
        "Second",
        "2nd",
        "rain",
        "2nd semester",
        " Rain Semester ",
    ] {
        assert_eq!(
            Semester::parse(typed).unwrap(),
            Semester::Second,
            "typed {typed:?}"
        );
    }
    assert_eq!(Semester::from_number(2).unwrap(), Semester::Second);
    assert_eq!(Semester::First.number(), 1);
    assert_eq!(Semester::Second.to_string(), "second");
    assert!(Semester::First < Semester::Second);
}

#[test]
fn semesters_refuse_anything_else_quoting_what_was_typed() {
    assert_eq!(
        msg(Semester::parse("Third")),
        "semester 'Third' should be 'first' or 'second' (or 1 or 2)"
    );
    assert_eq!(
        msg(Semester::parse("semester")),
        "semester 'semester' should be 'first' or 'second' (or 1 or 2)"
    );
    assert_eq!(
        msg(Semester::parse("first second")),
        "semester 'first second' should be 'first' or 'second' (or 1 or 2)"
    );
    assert_eq!(msg(Semester::from_number(3)), "semester 3 should be 1 or 2");
}

#[test]
fn roles_accept_their_names_and_the_words_registries_use() {
    for r in Role::ALL {
        assert_eq!(Role::parse(r.as_str()).unwrap(), r);
        assert_eq!(Role::parse(&r.as_str().to_uppercase()).unwrap(), r);
        assert_eq!(r.to_string(), r.as_str());
    }
    assert_eq!(Role::parse(" HOD ").unwrap(), Role::Hod);
    assert_eq!(Role::parse("Head of Department").unwrap(), Role::Hod);
    assert_eq!(Role::parse("head_of_department").unwrap(), Role::Hod);
    assert_eq!(Role::parse("Registrar").unwrap(), Role::Senate);
    assert_eq!(Role::parse("Administrator").unwrap(), Role::Admin);
    assert_eq!(
        msg(Role::parse("bursar")),
        "role 'bursar' should be one of student, lecturer, hod, dean, senate, admin"
    );
    assert_eq!(serde_json::to_string(&Role::Hod).unwrap(), "\"hod\"");
}

#[test]
fn gpas_parse_two_decimals_at_most() {
    assert_eq!(Gpa::parse("3.57").unwrap().hundredths(), 357);
    assert_eq!(Gpa::parse("3.5").unwrap().hundredths(), 350);
    assert_eq!(Gpa::parse("4").unwrap().hundredths(), 400);
    assert_eq!(Gpa::parse(" 0.07 ").unwrap().hundredths(), 7);
    for bad in ["", "3.575", ".5", "-1", "three", "3,5", "+3"] {
        assert_eq!(Gpa::parse(bad), None, "typed {bad:?}");
    }
    assert_eq!(Gpa::from_hundredths(7).to_string(), "0.07");
    assert_eq!(Gpa::from_points(5).to_string(), "5.00");
    assert_eq!(
        serde_json::to_string(&Gpa::from_hundredths(286)).unwrap(),
        "\"2.86\""
    );
    assert_eq!(
        serde_json::from_str::<Gpa>("\"2.86\"").unwrap(),
        Gpa::from_hundredths(286)
    );
    assert!(
        serde_json::from_str::<Gpa>("2.86").is_err(),
        "a bare JSON number is a float"
    );
}
