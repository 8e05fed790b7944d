//! A results-day volume through `apply_sheet`: cohorts of students, seven courses each, one
//! sheet per course, then a second round of corrected sheets. Checks that every record and
//! semester result is right at volume, and prints how long it took (EPORTAL_VOLUME_STUDENTS
//! sets the size; the demo's is 10,000).

mod common;

use eportal_core::model::{Course, Programme, Registration, Student};
use eportal_core::{GradingPolicy, Semester};
use eportal_ports::contract::store::fixture::{self, expected_results};
use eportal_ports::{ApplyOutcome, Directory, Policies, Results, SheetOutcome, Sheets};
use std::time::Instant;

const COHORTS: usize = 10;
const COURSES: usize = 7;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_students_through_apply_sheet() {
    let students: usize = std::env::var("EPORTAL_VOLUME_STUDENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000);
    let store = common::open(&common::fresh_dir().join("volume.db")).await;
    fixture::seed(&store).await;
    let policy = GradingPolicy::default();
    let book = store.active_policy().await.unwrap().unwrap_or_default();
    assert_eq!(book.default, policy);
    let session = fixture::session(2024);
    let programmes: Vec<Programme> = (0..COHORTS)
        .map(|c| Programme {
            code: format!("P{c}"),
            name: format!("Programme {c}"),
            department_code: "CSC".into(),
            duration_years: 4,
        })
        .collect();
    store.upsert_programmes(&programmes).await.unwrap();
    let all: Vec<Student> = (0..students)
        .map(|i| {
            fixture::student(
                &format!("VOL/{i:06}"),
                "Volume",
                &format!("P{}", i % COHORTS),
            )
        })
        .collect();
    store.upsert_students(&all).await.unwrap();
    let courses: Vec<Course> = (0..COHORTS * COURSES)
        .map(|k| {
            fixture::course(
                &format!("VOL {:03}", 100 + k),
                (k % 4 + 1) as u8,
                "CSC",
                Semester::First,
            )
        })
        .collect();
    store.upsert_courses(&courses).await.unwrap();
    let cohort = |c: usize| all.iter().skip(c).step_by(COHORTS).collect::<Vec<_>>();
    let mut regs = Vec::new();
    for (k, course) in courses.iter().enumerate() {
        for s in cohort(k / COURSES) {
            regs.push(Registration {
                matric_no: s.matric_no.clone(),
                course_code: course.code.clone(),
                session,
                semester: Semester::First,
            });
        }
    }
    store.upsert_registrations(&regs).await.unwrap();

    let started = Instant::now();
    let mut rows_applied = 0;
    for round in 0..2u16 {
        for (k, course) in courses.iter().enumerate() {
            let term = fixture::term(course.code.as_str(), 2024, Semester::First);
            let sheet = fixture::submit(&store, &term, (round as u64) * 1000 + k as u64).await;
            let accepted = cohort(k / COURSES)
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    let ca = ((i * 7 + k) % 41) as u16;
                    // The second round corrects every third score.
                    let exam = ((i * 13 + k) % 61) as u16;
                    let exam = if round == 1 && i % 3 == 0 {
                        (exam + 5).min(60)
                    } else {
                        exam
                    };
                    fixture::row(&policy, i + 2, &s.matric_no, ca, exam)
                })
                .collect::<Vec<_>>();
            rows_applied += accepted.len();
            let outcome = SheetOutcome::Judged {
                accepted,
                rejected: vec![],
            };
            let out = store.apply_sheet(sheet.id, &outcome, &book).await.unwrap();
            assert!(matches!(out, ApplyOutcome::Applied { .. }), "{out:?}");
        }
    }
    let took = started.elapsed();
    println!(
        "applied {} sheets, {rows_applied} rows for {students} students in {took:?}",
        2 * courses.len()
    );
    let started = std::time::Instant::now();
    let refreshed = fixture::refresh_all(&store, &book).await;
    assert_eq!(refreshed as usize, students, "every student's GPA, once");
    println!(
        "refreshed {refreshed} students' semester results in {:?}",
        started.elapsed()
    );

    for s in all.iter().step_by(97) {
        let records = store.student_records(&s.matric_no).await.unwrap();
        assert_eq!(records.len(), COURSES, "{}", s.matric_no);
        let results = store.semester_results(&s.matric_no).await.unwrap();
        assert_eq!(results, expected_results(&s.matric_no, &records, &policy));
        let history = store
            .record_history(
                &s.matric_no,
                &fixture::term(records[0].course_code.as_str(), 2024, Semester::First),
            )
            .await
            .unwrap();
        assert!(!history.is_empty() && history.len() <= 2);
    }
}
