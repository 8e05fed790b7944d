//! A semester's ingest, end to end: N students (40,000 by default) each registered for 12
//! courses of one semester, the scores uploaded as CSV score sheets of R rows (2,000 by
//! default; "add rows" parts of each course's list), and processed by the application's own
//! workers — read in the isolated sheet reader, validated against the registrations,
//! applied, and every student's semester GPA and CGPA computed — under the deployment the
//! environment configures (`EPORTAL_DATABASE_URL`, `EPORTAL_QUEUE_URL`, …; embedded by
//! default). Every sheet is recorded before the workers start, so the time measured is the
//! pipeline's alone, from the first job taken to the last sheet processed.
//!
//!     cargo run --release -p eportal --example ingest -- [STUDENTS] [ROWS_PER_SHEET]
//!
//! The sheet reader is the `eportal` binary built beside this example (or
//! `EPORTAL_WORKER__SHEET_PARSER`). Prints one line `ingest: ROWS rows in S s = R rows/s (...)` that `scripts/bench-ingest`
//! reads, after checking that every sheet was processed with every row accepted and that a
//! sample of students has a GPA over all 12 courses.

use eportal::{App, Config};
use eportal_core::model::{
    Allocation, Course, CourseTerm, Department, Faculty, Institution, Programme, Registration,
    Staff, Student,
};
use eportal_core::sheet::estimate_rows;
use eportal_core::{AcademicSession, CourseCode, MatricNo, Role, Semester};
use eportal_ports::{NewSheet, SheetMode, SheetStatus};
use std::time::{Duration, Instant};

const COURSES: usize = 12;

fn matric(i: usize) -> MatricNo {
    MatricNo::parse(&format!("ING/2024/{:05}", i + 1)).expect("a matric number")
}

fn term(code: &CourseCode) -> CourseTerm {
    CourseTerm {
        course_code: code.clone(),
        session: AcademicSession::new(2024).expect("a session"),
        semester: Semester::First,
    }
}

/// One part of a course's class list as a CSV score sheet.
fn csv(first: usize, rows: usize, course: usize) -> Vec<u8> {
    let mut s = String::with_capacity(rows * 32);
    s.push_str("S/N,Matric No,CA (40),Exam (60)\r\n");
    for i in first..first + rows {
        let ca = 8 + (i * 7 + course * 3) % 32;
        let exam = 10 + (i * 11 + course * 5) % 50;
        s.push_str(&format!("{},{},{ca},{exam}\r\n", i - first + 1, matric(i)));
    }
    s.into_bytes()
}

async fn seed(
    store: &dyn eportal_ports::RecordStore,
    policy: &eportal_core::GradingPolicy,
    n: usize,
) -> anyhow::Result<Vec<CourseCode>> {
    let inst = Institution {
        name: "Federal University of Ingest".into(),
        short_name: "FUI".into(),
    };
    store.put_institution(&inst, policy).await?;
    store
        .upsert_faculties(&[Faculty {
            code: "SCI".into(),
            name: "Science".into(),
        }])
        .await?;
    store
        .upsert_departments(&[Department {
            code: "ING".into(),
            name: "Ingest".into(),
            faculty_code: "SCI".into(),
        }])
        .await?;
    store
        .upsert_programmes(&[Programme {
            code: "ING".into(),
            name: "B.Sc. Ingest".into(),
            department_code: "ING".into(),
            duration_years: 4,
        }])
        .await?;
    store
        .upsert_staff(&[Staff {
            staff_id: "bench".into(),
            name: "Bench Lecturer".into(),
            department_code: "ING".into(),
            roles: vec![Role::Lecturer],
        }])
        .await?;
    let students: Vec<Student> = (0..n)
        .map(|i| Student {
            matric_no: matric(i),
            surname: "Student".into(),
            first_name: format!("Number {i}"),
            programme_code: "ING".into(),
            level: 100,
            entry_session: AcademicSession::new(2024).expect("a session"),
        })
        .collect();
    for chunk in students.chunks(5_000) {
        store.upsert_students(chunk).await?;
    }
    let codes: Vec<CourseCode> = (0..COURSES)
        .map(|k| CourseCode::parse(&format!("ING1{k:02}")).expect("a course code"))
        .collect();
    let courses: Vec<Course> = codes
        .iter()
        .enumerate()
        .map(|(k, code)| Course {
            code: code.clone(),
            title: format!("Ingest course {k}"),
            units: 2 + (k % 3) as u8,
            department_code: "ING".into(),
            level: 100,
            semester: Semester::First,
        })
        .collect();
    store.upsert_courses(&courses).await?;
    for code in &codes {
        let t = term(code);
        store
            .upsert_allocations(&[Allocation {
                course_code: code.clone(),
                session: t.session,
                semester: t.semester,
                staff_id: "bench".into(),
            }])
            .await?;
        let regs: Vec<Registration> = (0..n)
            .map(|i| Registration {
                matric_no: matric(i),
                course_code: code.clone(),
                session: t.session,
                semester: t.semester,
            })
            .collect();
        for chunk in regs.chunks(10_000) {
            store.upsert_registrations(chunk).await?;
        }
    }
    Ok(codes)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n: usize = args.first().map_or(Ok(40_000), |a| a.parse())?;
    let per_sheet: usize = args.get(1).map_or(Ok(2_000), |a| a.parse())?;
    let mut config = Config::load(None)?;
    eportal::telemetry::init_tracing(config.log_format);
    if config.worker.sheet_parser.is_none() {
        // Sheets are read in a child running `eportal parse-sheet`: this example is not that
        // binary, the eportal built beside it (target/<profile>/eportal) is.
        let exe = std::env::current_exe()?;
        let eportal = exe
            .parent()
            .and_then(|examples| examples.parent())
            .map(|dir| dir.join("eportal"))
            .filter(|p| p.exists())
            .ok_or_else(|| anyhow::anyhow!("build the eportal binary first (cargo build -p eportal), or set EPORTAL_WORKER__SHEET_PARSER"))?;
        config.worker.sheet_parser = Some(eportal);
    }
    let workers = config.worker.concurrency;
    let app = App::build(config).await?;
    let store = app.services.ports.store.clone();
    let blobs = app.services.ports.blobs.clone();
    let t = Instant::now();
    let codes = seed(store.as_ref(), &eportal_core::GradingPolicy::default(), n).await?;
    println!(
        "seeded {n} students, {COURSES} courses, {} registrations in {:.1} s",
        n * COURSES,
        t.elapsed().as_secs_f64()
    );

    let t = Instant::now();
    let mut ids = Vec::new();
    for (k, code) in codes.iter().enumerate() {
        for first in (0..n).step_by(per_sheet) {
            let bytes = csv(first, per_sheet.min(n - first), k);
            let new = NewSheet {
                term: term(code),
                sha256: blobs.put(&bytes).await?,
                size_bytes: bytes.len() as u64,
                filename: Some(format!("{code}-{first}.csv")),
                uploaded_by: "bench".into(),
                mode: SheetMode::AddRows,
                rows_estimate: Some(estimate_rows(&bytes)),
            };
            ids.push(store.submit_sheet(&new, None).await?.0.id);
        }
    }
    println!(
        "recorded {} sheets of up to {per_sheet} rows in {:.1} s",
        ids.len(),
        t.elapsed().as_secs_f64()
    );

    let listener = eportal::http::serve::bind("127.0.0.1:0".parse()?)?;
    let started = Instant::now();
    let running = app.start(Some(listener)).await?;
    // Done when every sheet is processed and every GPA they changed is recomputed.
    loop {
        let (_, queued) = store.all_sheets(Some(SheetStatus::Queued), 1, 0).await?;
        if queued == 0 && store.stale_results().await? == 0 {
            break;
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(3_600),
            "{queued} sheets still queued, or GPAs not refreshed, after an hour"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let took = started.elapsed();
    let (all, _) = store.all_sheets(None, ids.len() as u32 + 10, 0).await?;
    running.shutdown().await;

    let mut rows = 0u64;
    for s in &all {
        anyhow::ensure!(
            s.status == SheetStatus::Processed && s.rows_rejected == 0,
            "sheet {} is {} with {} rows rejected: {:?}",
            s.id,
            s.status.as_str(),
            s.rows_rejected,
            s.message
        );
        rows += u64::from(s.rows_accepted);
    }
    anyhow::ensure!(
        rows == (n * COURSES) as u64,
        "{rows} rows accepted, not {}",
        n * COURSES
    );
    for i in [0, n / 2, n - 1] {
        let results = store.semester_results(&matric(i)).await?;
        let units: u32 = results.iter().map(|r| r.units).sum();
        anyhow::ensure!(
            results.len() == 1 && units == (0..COURSES).map(|k| 2 + (k % 3) as u32).sum::<u32>(),
            "student {i} has {} semester results over {units} units",
            results.len()
        );
    }
    let secs = took.as_secs_f64();
    println!(
        "ingest: {rows} rows in {secs:.2} s = {:.0} rows/s ({} sheets, {workers} workers)",
        rows as f64 / secs,
        all.len()
    );
    Ok(())
}
