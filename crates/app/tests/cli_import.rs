//! `eportal import`: every kind from the committed example files (docs/import.md), then
//! files with bad rows whose line numbers and reasons must be reported while the good rows
//! are still saved. What was stored is checked by opening the data directory afterwards.

mod cli_support;

use cli_support::{eportal, open, outcome, run};
use eportal_core::model::CourseTerm;
use eportal_core::{AcademicSession, CourseCode, MatricNo, Role, Semester};
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/import")
        .join(name)
}

/// Data lines of a CSV fixture (what a successful import must report as imported).
fn data_lines(name: &str) -> usize {
    std::fs::read_to_string(fixture(name))
        .unwrap()
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .count()
}

fn import(dir: &Path, kind: &str, file: &str) -> (i32, String, String) {
    outcome(&run(eportal(dir).args(["import", kind]).arg(fixture(file))))
}

const GOOD: [(&str, &str); 10] = [
    ("institution", "institution.toml"),
    ("faculties", "faculties.csv"),
    ("departments", "departments.csv"),
    ("programmes", "programmes.csv"),
    ("staff", "staff.csv"),
    ("students", "students.csv"),
    ("courses", "courses.csv"),
    ("allocations", "allocations.csv"),
    ("registrations", "registrations.csv"),
    ("policy", "policy.toml"),
];

fn import_examples(dir: &Path) {
    for (kind, file) in GOOD {
        let (code, out, err) = import(dir, kind, file);
        assert_eq!(code, 0, "import {kind}: {out}{err}");
        let expected = if file.ends_with(".csv") {
            data_lines(file)
        } else {
            1
        };
        assert!(
            out.contains(&format!("{kind}: imported {expected}, rejected 0")),
            "import {kind}: {out}"
        );
    }
}

fn term(code: &str, semester: Semester) -> CourseTerm {
    CourseTerm {
        course_code: CourseCode::parse(code).unwrap(),
        session: AcademicSession::parse("2024/2025").unwrap(),
        semester,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_kind_imports_from_the_documented_examples() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    import_examples(dir);
    // Importing a file again changes nothing (upserts by natural key).
    let (code, out, _) = import(dir, "students", "students.csv");
    assert_eq!(code, 0);
    assert!(out.contains("imported 4, rejected 0"), "{out}");

    let s = open(dir).await;
    let store = &s.ports.store;
    let (inst, policy) = store.institution().await.unwrap().expect("an institution");
    assert_eq!(inst.short_name, "FUTS");
    assert_eq!(policy.name, "5-point scale without E");
    assert!(policy.bands.iter().all(|b| b.grade != "E"));
    assert_eq!(store.count_students().await.unwrap(), 4);
    let chidinma = MatricNo::parse("csc/2024/0001").unwrap();
    let student = store.student(&chidinma).await.unwrap().expect("imported");
    assert_eq!(
        (student.level, student.programme_code.as_str()),
        (100, "BSC-CSC")
    );
    let hod = store.staff("SP/0001").await.unwrap().expect("imported");
    assert_eq!(hod.roles, vec![Role::Lecturer, Role::Hod]);
    assert_eq!(
        store
            .allocations(&term("CSC 201", Semester::First))
            .await
            .unwrap(),
        vec!["SP/0001".to_string()],
        "a staff id is matched in any case"
    );
    let mut mth = store
        .registered(&term("MTH 101", Semester::First))
        .await
        .unwrap();
    mth.sort();
    assert_eq!(
        mth.iter().map(|m| m.as_str()).collect::<Vec<_>>(),
        ["CSC/2024/0001", "MTH/2024/0001"]
    );

    // A password column creates a sign-in account with an argon2id hash of it.
    let session = s
        .auth
        .login(store.as_ref(), "csc/2024/0001", "chidinma-2024")
        .await
        .expect("the imported password signs in");
    assert_eq!(session.roles, vec![Role::Student]);
    let account = store.user("CSC/2024/0001").await.unwrap().unwrap();
    assert!(account.password_hash.starts_with("$argon2id$"));
    assert!(s
        .auth
        .login(store.as_ref(), "SP/0003", "adeyemi-pass-3")
        .await
        .is_ok());
    // No password, no account.
    assert!(store.user("CSC/2023/0002").await.unwrap().is_none());
}

/// (line, words the reason must contain) of every row a file must refuse.
type Refused<'a> = &'a [(usize, &'a str)];

/// (kind, file, rows it must save, rows it must refuse).
type Case<'a> = (&'a str, &'a str, usize, Refused<'a>);

fn assert_refused(err: &str, file: &str, expected: Refused) {
    let reported: Vec<&str> = err.lines().filter(|l| l.contains(": line ")).collect();
    assert_eq!(
        reported.len(),
        expected.len(),
        "{file}: refused rows:\n{err}"
    );
    for ((line, words), got) in expected.iter().zip(&reported) {
        assert!(
            got.contains(&format!("line {line}: ")) && got.contains(words),
            "{file}: expected line {line} refused for '{words}', got: {got}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_rows_are_reported_by_line_and_good_rows_are_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    import_examples(dir);
    let cases: [Case; 5] = [
        (
            "students",
            "bad/students.csv",
            2,
            &[
                (3, "matric_no is missing"),
                (4, "matric number 'CSC 2024 0102' may contain only"),
                (5, "programme 'BSC-XYZ' does not exist"),
                (6, "level '250'"),
                (7, "consecutive years"),
                (8, "CSC/2024/0101 is already on line 2"),
                (9, "password is shorter than 8"),
            ],
        ),
        (
            "staff",
            "bad/staff.csv",
            1,
            &[
                (3, "role 'professor'"),
                (4, "department 'XYZ' does not exist"),
                (5, "roles is missing"),
            ],
        ),
        (
            "courses",
            "bad/courses.csv",
            1,
            &[
                (3, "course code 'CSC301X'"),
                (4, "units 'three'"),
                (5, "semester 'third'"),
                (6, "department 'PHY' does not exist"),
            ],
        ),
        (
            "allocations",
            "bad/allocations.csv",
            1,
            &[
                (3, "course 'CSC 999' does not exist"),
                (4, "staff member 'SP/9999' does not exist"),
                (5, "CSC 102 is taught in the second semester"),
                (6, "consecutive years"),
            ],
        ),
        (
            "registrations",
            "bad/registrations.csv",
            1,
            &[
                (3, "student 'CSC/2099/0001' does not exist"),
                (4, "course 'CSC 999' does not exist"),
                (5, "CSC 102 is taught in the second semester"),
                (6, "semester '3'"),
            ],
        ),
    ];
    for (kind, file, good, refused) in cases {
        let (code, out, err) = import(dir, kind, file);
        assert_eq!(code, 3, "{file}: some rows were refused\n{out}{err}");
        assert!(
            out.contains(&format!("imported {good}, rejected {}", refused.len())),
            "{file}: {out}"
        );
        assert_refused(&err, file, refused);
    }
    let s = open(dir).await;
    let store = &s.ports.store;
    // The good rows around the bad ones were saved, the bad ones were not.
    for (m, saved) in [
        ("CSC/2024/0101", true),
        ("CSC/2024/0107", true),
        ("CSC/2024/0104", false),
    ] {
        let m = MatricNo::parse(m).unwrap();
        assert_eq!(store.student(&m).await.unwrap().is_some(), saved, "{m}");
    }
    assert!(
        store.user("CSC/2024/0107").await.unwrap().is_some(),
        "its password made an account"
    );
    assert!(store.staff("SP/0100").await.unwrap().is_some());
    assert!(store.staff("SP/0101").await.unwrap().is_none());
    assert!(store
        .course(&CourseCode::parse("CSC 301").unwrap())
        .await
        .unwrap()
        .is_some());
    assert_eq!(
        store
            .allocations(&term("CSC 301", Semester::First))
            .await
            .unwrap(),
        vec!["SP/0001".to_string()]
    );
    let chidinma = MatricNo::parse("CSC/2024/0001").unwrap();
    assert!(store
        .registered(&term("CSC 201", Semester::First))
        .await
        .unwrap()
        .contains(&chidinma));
}

#[test]
fn a_file_that_cannot_be_used_is_refused_as_a_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let file = dir.join("students.csv");
    std::fs::write(&file, "matric_no,surname,level\nCSC/1,Okafor,100\n").unwrap();
    let (code, _, err) = outcome(&run(eportal(dir).args(["import", "students"]).arg(&file)));
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("no first_name, programme, entry_session columns"),
        "{err}"
    );

    let (code, _, err) = outcome(&run(eportal(dir)
        .args(["import", "students"])
        .arg(dir.join("missing.csv"))));
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("cannot read") && err.contains("missing.csv"),
        "{err}"
    );

    let (code, _, err) = outcome(&run(eportal(dir).args(["import", "lecturers", "x.csv"])));
    assert_eq!(code, 2, "an unknown kind is a usage error: {err}");
    assert!(err.contains("registrations"), "the kinds are listed: {err}");

    std::fs::write(&file, "ca_max = 400\nexam_max = 900\n").unwrap();
    let (code, _, err) = outcome(&run(eportal(dir).args(["import", "policy"]).arg(&file)));
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("policy file is not valid"), "{err}");
}

#[test]
fn a_policy_for_a_cohort_is_a_new_version_and_a_bad_scope_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    // The institution is version 1; the example policy (default scope) version 2.
    import_examples(&dir);
    let run_policy = |scope: &str| {
        outcome(&run(eportal(&dir)
            .args(["import", "policy"])
            .arg(fixture("policy.toml"))
            .args(["--scope", scope])))
    };
    // No score has been uploaded: the new version is active at once.
    let (code, out, err) = run_policy("cohort:2025/2026");
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("grading policy version 3 is active (no scores to regrade)"),
        "{out}"
    );
    // A scope that is not one: a usage error (exit 2) saying how to write it.
    let (code, out, err) = run_policy("year:2025/2026");
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("is not cohort or results"), "{err}");
    let (code, _, err) = run_policy("cohort:2025/2027");
    assert_eq!(code, 2);
    assert!(err.contains("should span two consecutive years"), "{err}");
}
