//! A small university seeded through the Directory methods, and helpers that submit and
//! apply sheets, so each store case reads as the behaviour it checks. Nothing here may
//! reach into an engine: every fact goes in and comes out through the port.

use crate::{
    ApplyOutcome, NewSheet, PortError, RecordStore, Refreshed, SheetOutcome, SheetSummary,
};
use eportal_core::gpa::{summarise, Attempt};
use eportal_core::model::{
    Allocation, Course, CourseRecord, CourseTerm, Department, Faculty, Institution, Programme,
    Registration, SemesterResult, Staff, Student,
};
use eportal_core::sheet::{AcceptedRow, RowError, RowErrorKind};
use eportal_core::{
    AcademicSession, CourseCode, GradingPolicy, MatricNo, PolicyBook, Role, Score, Semester,
};

pub const LECTURER: &str = "STF/001";
pub const HOD: &str = "STF/002";
pub const DEAN: &str = "STF/003";

/// What [`seed`] created, by name.
#[derive(Debug, Clone)]
pub struct Uni {
    pub policy: GradingPolicy,
    /// The active book after seeding (version 1, `policy` for everyone): what sheets are
    /// applied under.
    pub book: PolicyBook,
    /// `SCI/2024/0001` … `SCI/2024/0005`.
    pub students: Vec<MatricNo>,
    /// CSC 101 (3 units), first semester 2024/2025; everyone registered; taught by LECTURER.
    pub csc101: CourseTerm,
    /// MTH 101 (2 units), first semester; everyone registered; taught by DEAN.
    pub mth101: CourseTerm,
    /// CSC 102 (1 unit), first semester; everyone registered; taught by LECTURER.
    pub csc102: CourseTerm,
    /// MTH 102 (2 units), second semester; all but the fifth student registered; DEAN.
    pub mth102: CourseTerm,
}

pub fn matric(s: &str) -> MatricNo {
    MatricNo::parse(s).expect("fixture matric numbers are valid")
}

pub fn code(s: &str) -> CourseCode {
    CourseCode::parse(s).expect("fixture course codes are valid")
}

pub fn session(y: u16) -> AcademicSession {
    AcademicSession::new(y).expect("fixture sessions are valid")
}

pub fn term(c: &str, year: u16, semester: Semester) -> CourseTerm {
    CourseTerm {
        course_code: code(c),
        session: session(year),
        semester,
    }
}

pub fn faculty(code: &str, name: &str) -> Faculty {
    Faculty {
        code: code.into(),
        name: name.into(),
    }
}

pub fn department(code: &str, name: &str, faculty: &str) -> Department {
    Department {
        code: code.into(),
        name: name.into(),
        faculty_code: faculty.into(),
    }
}

pub fn student(m: &str, surname: &str, programme: &str) -> Student {
    Student {
        matric_no: matric(m),
        surname: surname.into(),
        first_name: "Ada".into(),
        programme_code: programme.into(),
        level: 100,
        entry_session: session(2024),
    }
}

pub fn staff(id: &str, dept: &str, roles: &[Role]) -> Staff {
    Staff {
        staff_id: id.into(),
        name: format!("Dr {id}"),
        department_code: dept.into(),
        roles: roles.to_vec(),
    }
}

pub fn course(c: &str, units: u8, dept: &str, semester: Semester) -> Course {
    Course {
        code: code(c),
        title: format!("Introduction to {c}"),
        units,
        department_code: dept.into(),
        level: 100,
        semester,
    }
}

pub fn registration(m: &MatricNo, t: &CourseTerm) -> Registration {
    Registration {
        matric_no: m.clone(),
        course_code: t.course_code.clone(),
        session: t.session,
        semester: t.semester,
    }
}

/// Seeds the university described by [`Uni`] and returns it.
pub async fn seed(store: &dyn RecordStore) -> Uni {
    let policy = GradingPolicy::default();
    let inst = Institution {
        name: "University of Contract Tests".into(),
        short_name: "UCT".into(),
    };
    store
        .put_institution(&inst, &policy)
        .await
        .expect("institution");
    let book = store
        .active_policy()
        .await
        .expect("active_policy")
        .unwrap_or_default();
    store
        .upsert_faculties(&[faculty("SCI", "Faculty of Science")])
        .await
        .expect("faculties");
    store
        .upsert_departments(&[
            department("CSC", "Computer Science", "SCI"),
            department("MTH", "Mathematics", "SCI"),
        ])
        .await
        .expect("departments");
    store
        .upsert_programmes(&[Programme {
            code: "BSC-CSC".into(),
            name: "B.Sc. Computer Science".into(),
            department_code: "CSC".into(),
            duration_years: 4,
        }])
        .await
        .expect("programmes");
    let students: Vec<Student> = (1..=5)
        .map(|i| {
            student(
                &format!("SCI/2024/000{i}"),
                &format!("Student{i}"),
                "BSC-CSC",
            )
        })
        .collect();
    store.upsert_students(&students).await.expect("students");
    store
        .upsert_staff(&[
            staff(LECTURER, "CSC", &[Role::Lecturer]),
            staff(HOD, "CSC", &[Role::Lecturer, Role::Hod]),
            staff(DEAN, "MTH", &[Role::Lecturer, Role::Dean]),
        ])
        .await
        .expect("staff");
    store
        .upsert_courses(&[
            course("CSC 101", 3, "CSC", Semester::First),
            course("MTH 101", 2, "MTH", Semester::First),
            course("CSC 102", 1, "CSC", Semester::First),
            course("MTH 102", 2, "MTH", Semester::Second),
        ])
        .await
        .expect("courses");
    let uni = Uni {
        policy,
        book,
        students: students.into_iter().map(|s| s.matric_no).collect(),
        csc101: term("CSC 101", 2024, Semester::First),
        mth101: term("MTH 101", 2024, Semester::First),
        csc102: term("CSC 102", 2024, Semester::First),
        mth102: term("MTH 102", 2024, Semester::Second),
    };
    let allocations: Vec<Allocation> = [
        (&uni.csc101, LECTURER),
        (&uni.mth101, DEAN),
        (&uni.csc102, LECTURER),
        (&uni.mth102, DEAN),
    ]
    .into_iter()
    .map(|(t, s)| Allocation {
        course_code: t.course_code.clone(),
        session: t.session,
        semester: t.semester,
        staff_id: s.into(),
    })
    .collect();
    store
        .upsert_allocations(&allocations)
        .await
        .expect("allocations");
    let mut regs = Vec::new();
    for (i, m) in uni.students.iter().enumerate() {
        for t in [&uni.csc101, &uni.mth101, &uni.csc102, &uni.mth102] {
            if i == 4 && t == &uni.mth102 {
                continue;
            }
            regs.push(registration(m, t));
        }
    }
    store
        .upsert_registrations(&regs)
        .await
        .expect("registrations");
    uni
}

/// A 64-hex-digit stand-in for a file's SHA-256, distinct per `n`.
pub fn sha(n: u64) -> String {
    format!("{n:064x}")
}

/// An accepted row graded under `policy` (scores in whole marks).
pub fn row(policy: &GradingPolicy, n: usize, m: &MatricNo, ca: u16, exam: u16) -> AcceptedRow {
    let (ca, exam) = (Score::from_marks(ca), Score::from_marks(exam));
    let total = ca.checked_add(exam).expect("fixture totals fit");
    let g = policy.grade(total);
    AcceptedRow {
        row: n,
        matric: m.clone(),
        ca,
        exam,
        total,
        grade: g.grade,
        points: g.points,
    }
}

pub fn row_error(n: usize, m: &str, kind: RowErrorKind) -> RowError {
    RowError {
        row: n,
        matric: Some(m.into()),
        kind,
        message: format!("row {n}: {kind:?}"),
    }
}

pub async fn submit(store: &dyn RecordStore, t: &CourseTerm, n: u64) -> SheetSummary {
    submit_as(store, t, n, crate::SheetMode::Replace).await
}

/// [`submit`] in a given mode.
pub async fn submit_as(
    store: &dyn RecordStore,
    t: &CourseTerm,
    n: u64,
    mode: crate::SheetMode,
) -> SheetSummary {
    let sheet = NewSheet {
        term: t.clone(),
        sha256: sha(n),
        size_bytes: 100 + n,
        filename: Some(format!("sheet-{n}.csv")),
        uploaded_by: LECTURER.into(),
        mode,
        rows_estimate: None,
    };
    store
        .submit_sheet(&sheet, Some("req-1"))
        .await
        .expect("submit_sheet")
        .0
}

/// Scores as (student index, CA, exam), rows numbered from 2 (under the header).
pub fn judged(uni: &Uni, scores: &[(usize, u16, u16)]) -> SheetOutcome {
    SheetOutcome::Judged {
        accepted: scores
            .iter()
            .enumerate()
            .map(|(i, &(s, ca, exam))| row(&uni.policy, i + 2, &uni.students[s], ca, exam))
            .collect(),
        rejected: vec![],
    }
}

/// Submits and applies a sheet of `scores`; returns the sheet id and the outcome.
pub async fn upload(
    store: &dyn RecordStore,
    uni: &Uni,
    t: &CourseTerm,
    n: u64,
    scores: &[(usize, u16, u16)],
) -> (i64, ApplyOutcome) {
    let s = submit(store, t, n).await;
    let out = store
        .apply_sheet(s.id, &judged(uni, scores), &uni.book)
        .await
        .expect("apply_sheet");
    (s.id, out)
}

/// [`upload`], confirming the removals if the sheet is held for them (as its lecturer
/// would) and applying it again; returns the sheet id and the final outcome.
pub async fn upload_confirmed(
    store: &dyn RecordStore,
    uni: &Uni,
    t: &CourseTerm,
    n: u64,
    scores: &[(usize, u16, u16)],
) -> (i64, ApplyOutcome) {
    let (id, out) = upload(store, uni, t, n, scores).await;
    if !matches!(out, ApplyOutcome::Held { .. }) {
        return (id, out);
    }
    store.confirm_sheet(id, None).await.expect("confirm_sheet");
    let out = store
        .apply_sheet(id, &judged(uni, scores), &uni.book)
        .await
        .expect("apply_sheet after confirming");
    (id, out)
}

/// Refreshes every stale semester result under `book`, as the workers' refresh job does;
/// returns how many students were recomputed.
pub async fn refresh_all(store: &dyn RecordStore, book: &PolicyBook) -> u64 {
    let mut students = 0;
    loop {
        match store
            .refresh_results(book, 1_000)
            .await
            .expect("refresh_results")
        {
            Refreshed::Done { students: n, left } => {
                students += n;
                if left == 0 {
                    return students;
                }
                assert!(n > 0, "{left} stale results left that no refresh can take");
            }
            other => panic!("refresh_results under the active book: {other:?}"),
        }
    }
}

/// What the store's semester results must be: the core's summary of its current records.
pub fn expected_results(
    m: &MatricNo,
    records: &[CourseRecord],
    policy: &GradingPolicy,
) -> Vec<SemesterResult> {
    let attempts: Vec<Attempt> = records
        .iter()
        .map(|r| Attempt {
            course: r.course_code.clone(),
            session: r.session,
            semester: r.semester,
            units: r.units,
            points: r.points,
        })
        .collect();
    summarise(&attempts, policy)
        .into_iter()
        .map(|s| SemesterResult {
            matric_no: m.clone(),
            session: s.session,
            semester: s.semester,
            units: s.tally.units,
            weighted_points: s.tally.weighted,
            gpa: s.gpa,
            cumulative_units: s.cumulative.units,
            cumulative_weighted_points: s.cumulative.weighted,
            cgpa: s.cgpa,
        })
        .collect()
}

pub fn assert_invalid<T: std::fmt::Debug>(r: Result<T, PortError>, what: &str) {
    match r {
        Err(PortError::Invalid(msg)) => assert!(!msg.is_empty(), "{what}: empty message"),
        other => panic!("{what}: expected PortError::Invalid, got {other:?}"),
    }
}

pub fn assert_not_found<T: std::fmt::Debug>(r: Result<T, PortError>, what: &str) {
    match r {
        Err(PortError::NotFound(_)) => {}
        other => panic!("{what}: expected PortError::NotFound, got {other:?}"),
    }
}

pub fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort();
    v
}
