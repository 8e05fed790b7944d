//! How long issuing transcripts takes: builds a university in a fresh SQLite data directory
//! (N students of one programme, each with four sessions of two semesters of six published
//! courses: a full four-year transcript of 48 courses, two pages), then issues one transcript
//! per student through `Services::issue_transcript` — the whole path a download takes after
//! sign-in: the results read, the content and its hash, the PDF layout on the blocking pool,
//! and the store's record of the code — and prints the rate. The PDF layout alone is timed
//! too, to show where the time goes.
//!
//!     cargo run --release -p eportal --example transcripts -- [N] [--concurrency C]
//!
//! N defaults to 1,000; C (transcripts requested at once) to 4. `--sample FILE` also writes
//! one of the transcripts to FILE, to look at.

use eportal::services::documents::content::DocumentContent;
use eportal::services::documents::pdf;
use eportal::services::Principal;
use eportal::{App, Config};
use eportal_core::model::{
    Course, CourseTerm, Department, Faculty, Institution, Programme, Student,
};
use eportal_core::workflow::WorkflowState;
use eportal_core::{AcademicSession, CourseCode, GradingPolicy, MatricNo, Role, Semester};
use eportal_ports::contract::store::fixture::{row, sha};
use eportal_ports::{NewSheet, RecordStore, SheetOutcome};
use std::sync::Arc;
use std::time::Instant;

const SESSIONS: u16 = 4;
const COURSES_PER_SEMESTER: usize = 6;

async fn seed(store: &dyn RecordStore, policy: &GradingPolicy, n: usize) -> Vec<MatricNo> {
    let inst = Institution {
        name: "Federal University of Benchmarks".into(),
        short_name: "FUB".into(),
    };
    store.put_institution(&inst, policy).await.unwrap();
    let book = store.active_policy().await.unwrap().unwrap_or_default();
    store
        .upsert_faculties(&[Faculty {
            code: "SCI".into(),
            name: "Faculty of Science".into(),
        }])
        .await
        .unwrap();
    store
        .upsert_departments(&[Department {
            code: "CSC".into(),
            name: "Computer Science".into(),
            faculty_code: "SCI".into(),
        }])
        .await
        .unwrap();
    store
        .upsert_programmes(&[Programme {
            code: "CSC".into(),
            name: "B.Sc. Computer Science".into(),
            department_code: "CSC".into(),
            duration_years: 4,
        }])
        .await
        .unwrap();
    let students: Vec<Student> = (0..n)
        .map(|i| Student {
            matric_no: MatricNo::parse(&format!("SCI/2021/{:04}", i + 1)).unwrap(),
            surname: "Adébáyọ̀".into(),
            first_name: format!("Student {i}"),
            programme_code: "CSC".into(),
            level: 400,
            entry_session: AcademicSession::new(2021).unwrap(),
        })
        .collect();
    for chunk in students.chunks(500) {
        store.upsert_students(chunk).await.unwrap();
    }
    let matrics: Vec<MatricNo> = students.iter().map(|s| s.matric_no.clone()).collect();
    let mut sheet = 0u64;
    for year in 0..SESSIONS {
        for semester in [Semester::First, Semester::Second] {
            for k in 0..COURSES_PER_SEMESTER {
                let code = format!("CSC{}{}{}", year + 1, semester.number(), k);
                let course = Course {
                    code: CourseCode::parse(&code).unwrap(),
                    title: format!("Computing topic {code}: principles and practice"),
                    units: 2 + (k % 3) as u8,
                    department_code: "CSC".into(),
                    level: 100 * (year + 1),
                    semester,
                };
                store
                    .upsert_courses(std::slice::from_ref(&course))
                    .await
                    .unwrap();
                let term = CourseTerm {
                    course_code: course.code.clone(),
                    session: AcademicSession::new(2021 + year).unwrap(),
                    semester,
                };
                sheet += 1;
                let (summary, _) = store
                    .submit_sheet(
                        &NewSheet {
                            term: term.clone(),
                            sha256: sha(sheet),
                            size_bytes: 1000,
                            filename: None,
                            uploaded_by: "bench".into(),
                            mode: eportal_ports::SheetMode::Replace,
                            rows_estimate: None,
                        },
                        None,
                    )
                    .await
                    .unwrap();
                let accepted = matrics
                    .iter()
                    .enumerate()
                    .map(|(i, m)| {
                        let ca = 10 + ((i * 7 + k * 3) % 30) as u16;
                        let exam = 15 + ((i * 11 + k * 5 + year as usize) % 45) as u16;
                        row(policy, i + 2, m, ca, exam)
                    })
                    .collect();
                let outcome = SheetOutcome::Judged {
                    accepted,
                    rejected: Vec::new(),
                };
                store
                    .apply_sheet(summary.id, &outcome, &book)
                    .await
                    .unwrap();
                store
                    .transition(
                        &term,
                        WorkflowState::Draft,
                        WorkflowState::Published,
                        "bench",
                        None,
                    )
                    .await
                    .unwrap();
            }
        }
    }
    matrics
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n: usize = args
        .first()
        .filter(|a| !a.starts_with("--"))
        .map_or(1000, |a| a.parse().expect("N: a number of transcripts"));
    let concurrency: usize = args
        .iter()
        .position(|a| a == "--concurrency")
        .and_then(|i| args.get(i + 1))
        .map_or(4, |c| c.parse().expect("--concurrency C"));
    let dir = tempfile::tempdir().expect("a temporary data directory");
    let config = Config {
        data_dir: dir.path().to_path_buf(),
        ..Config::default()
    };
    let app = App::build(config)
        .await
        .expect("the application builds over SQLite");
    let services = app.services.clone();
    let store = services.ports.store.clone();

    let t = Instant::now();
    let matrics = seed(store.as_ref(), &GradingPolicy::default(), n).await;
    println!(
        "seeded {n} students x {} published courses in {:.1} s",
        SESSIONS as usize * 2 * COURSES_PER_SEMESTER,
        t.elapsed().as_secs_f64()
    );

    let registry = Principal {
        username: "admin".into(),
        display_name: "Registry".into(),
        roles: vec![Role::Admin],
        session_version: 0,
        password_change_required: false,
    };
    let matrics = Arc::new(matrics);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let bytes = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let t = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (services, matrics, next, bytes, who) = (
            services.clone(),
            matrics.clone(),
            next.clone(),
            bytes.clone(),
            registry.clone(),
        );
        tasks.spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(m) = matrics.get(i) else { break };
                let doc = services
                    .issue_transcript(&who, m)
                    .await
                    .expect("a transcript");
                bytes.fetch_add(doc.bytes.len(), std::sync::atomic::Ordering::Relaxed);
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    let whole = t.elapsed().as_secs_f64();
    println!(
        "issued {n} transcripts in {whole:.2} s ({:.0}/s, {:.1} ms each; {concurrency} at once; mean PDF {:.1} KB)",
        n as f64 / whole,
        whole * 1000.0 / n as f64,
        bytes.load(std::sync::atomic::Ordering::Relaxed) as f64 / n as f64 / 1024.0
    );

    // The layout alone, on one thread.
    let results = services.load_results(&matrics[0]).await.unwrap();
    let content = DocumentContent::transcript("Federal University of Benchmarks", &results);
    let t = Instant::now();
    for _ in 0..n {
        let issue = pdf::Issue {
            code: "7K2D-9QXM-4T1V-BC3N".into(),
            url: "https://portal.example.edu/verify/7K2D-9QXM-4T1V-BC3N".into(),
            issued_at: "2026-11-26 22:00 UTC".into(),
        };
        std::hint::black_box(pdf::render(&content, &issue));
    }
    let layout = t.elapsed().as_secs_f64();
    if let Some(file) = args
        .iter()
        .position(|a| a == "--sample")
        .and_then(|i| args.get(i + 1))
    {
        let doc = services
            .issue_transcript(&registry, &matrics[0])
            .await
            .unwrap();
        std::fs::write(file, doc.bytes).expect("--sample FILE: writable");
    }
    println!(
        "PDF layout alone: {n} in {layout:.2} s ({:.0}/s on one thread)",
        n as f64 / layout
    );
}
