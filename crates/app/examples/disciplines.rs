//! The queue-discipline benchmark's one run (`scripts/bench-disciplines` runs it once per
//! discipline and deployment): a burst of score sheets from ten departments with skewed sizes
//! (most of 30–120 rows, a few of 2,000–5,000; one department uploads half of them), recorded
//! as an upload records them (bytes kept, sheet and job in one transaction), then processed
//! by the application's own workers (and relay, distributed) under the configured discipline.
//! Prints one JSON line: lecturers' time-to-feedback (upload to processed) p50, p95 and max,
//! the worst department's mean wait over the best's, and the throughput.
//!
//!     EPORTAL_WORKER__DISCIPLINE=sjf EPORTAL_DATA_DIR=/tmp/x \
//!       cargo run --release -p eportal --example disciplines -- [SHEETS]
//!
//! Every other setting comes from the environment as for `eportal serve` (database, queue,
//! worker concurrency, `EPORTAL_WORKER__SHEET_PARSER` — the eportal executable that reads
//! sheets in isolation). Deterministic: the same SHEETS give the same burst.
//!
//! Two things make it a measure of the disciplines and not of something else:
//! - **Every row is real work.** `STUDENTS` students are registered for the courses the
//!   sheets name, so each row is read, judged against the roster and applied (and its
//!   student's results recomputed); a sheet whose students were unknown would be rejected
//!   whole, at the same cost whatever its size. Each sheet takes the next slice of the
//!   students, so a student sits about ten of the burst's courses, as in a semester: had
//!   every sheet named students 1, 2, 3, … the first hundred would sit all 600 courses, and
//!   recomputing their results would make a sheet's cost grow with the sheets before it.
//! - **It is a burst.** Every sheet is recorded before the workers (and, distributed, the
//!   relay) start, so all of them are waiting when the first is taken and the discipline
//!   chooses among all of them. Time-to-feedback runs from the sheet's recorded upload to its
//!   processing; the recording itself (`upload_s`, a few seconds) is included in the early
//!   uploads' waits, as it would be on results day.

use eportal::{App, Config};
use eportal_core::model::{
    Course, CourseTerm, Department, Faculty, Programme, Registration, Student,
};
use eportal_core::sheet::estimate_rows;
use eportal_core::{AcademicSession, CourseCode, MatricNo, Semester};
use eportal_ports::{now_ms, NewSheet, RecordStore, SheetMode, SheetStatus, SheetSummary};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::HashMap;
use std::time::{Duration, Instant};

const DEPARTMENTS: [&str; 10] = [
    "CSC", "MTH", "PHY", "CHM", "BIO", "GEO", "ECO", "STA", "AGR", "ZOO",
];
/// Students in the university: enough that each sits about ten of the burst's courses.
const STUDENTS: u32 = 10_000;
/// Rows written to the store per call while seeding.
const BATCH: usize = 2_000;
/// Uploads recorded at once (lecturers uploading together).
const UPLOADERS: usize = 8;

struct Planned {
    dept: &'static str,
    course: CourseCode,
    rows: u32,
    /// Its first row's student (0-based); the rows are the next `rows` students, wrapping.
    first: u32,
}

/// The burst: half the sheets from the first department, the rest spread over the others, in
/// a shuffled upload order; 3% of them large.
fn plan(n: usize) -> Vec<Planned> {
    let mut rng = StdRng::seed_from_u64(600);
    let mut per_dept: HashMap<&str, u32> = HashMap::new();
    let mut sheets: Vec<Planned> = (0..n)
        .map(|i| {
            let dept = if i < n / 2 {
                DEPARTMENTS[0]
            } else {
                DEPARTMENTS[1 + i % (DEPARTMENTS.len() - 1)]
            };
            let k = per_dept.entry(dept).or_insert(100);
            *k += 1;
            let rows = if rng.gen_ratio(3, 100) {
                rng.gen_range(2_000..=5_000)
            } else {
                rng.gen_range(30..=120)
            };
            Planned {
                dept,
                course: CourseCode::parse(&format!("{dept} {k}")).expect("a course code"),
                rows,
                first: 0,
            }
        })
        .collect();
    let mut next = 0;
    for p in &mut sheets {
        p.first = next;
        next = (next + p.rows) % STUDENTS;
    }
    for i in (1..sheets.len()).rev() {
        let j = rng.gen_range(0..=i);
        sheets.swap(i, j);
    }
    sheets
}

/// Student `i` (0-based) of the university.
fn matric_text(i: u32) -> String {
    format!("BEN/2024/{:05}", i % STUDENTS + 1)
}

fn matric(i: u32) -> MatricNo {
    MatricNo::parse(&matric_text(i)).expect("a matric number")
}

/// The students on a sheet, row by row.
fn students_of(p: &Planned) -> impl Iterator<Item = u32> + '_ {
    (0..p.rows.min(STUDENTS)).map(|r| p.first + r)
}

fn csv(p: &Planned) -> Vec<u8> {
    let mut s = String::from("S/N,Matric No,Name,CA (40),Exam (60)\r\n");
    for (r, i) in (1..).zip(students_of(p)) {
        s.push_str(&format!(
            "{r},{},Student {i},{},{}\r\n",
            matric_text(i),
            10 + r % 30,
            20 + r % 40
        ));
    }
    s.into_bytes()
}

fn term(course: &CourseCode) -> CourseTerm {
    CourseTerm {
        course_code: course.clone(),
        session: AcademicSession::new(2024).expect("a session"),
        semester: Semester::First,
    }
}

fn percentile(sorted: &[i64], p: f64) -> i64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// The university the sheets are about: its departments, the courses the sheets name, the
/// students, and each sheet's students registered for its course.
async fn seed(store: &dyn RecordStore, sheets: &[Planned]) -> anyhow::Result<()> {
    store
        .upsert_faculties(&[Faculty {
            code: "SCI".into(),
            name: "Science".into(),
        }])
        .await?;
    let departments: Vec<Department> = DEPARTMENTS
        .iter()
        .map(|d| Department {
            code: (*d).into(),
            name: format!("Department {d}"),
            faculty_code: "SCI".into(),
        })
        .collect();
    store.upsert_departments(&departments).await?;
    store
        .upsert_programmes(&[Programme {
            code: "BEN".into(),
            name: "Bench Sciences".into(),
            department_code: DEPARTMENTS[0].into(),
            duration_years: 4,
        }])
        .await?;
    let courses: Vec<Course> = sheets
        .iter()
        .map(|p| Course {
            code: p.course.clone(),
            title: format!("{} course", p.dept),
            units: 3,
            department_code: p.dept.into(),
            level: 100,
            semester: Semester::First,
        })
        .collect();
    for c in courses.chunks(BATCH) {
        store.upsert_courses(c).await?;
    }
    let students: Vec<Student> = (0..STUDENTS)
        .map(|i| Student {
            matric_no: matric(i),
            surname: format!("Student{i}"),
            first_name: "Bench".into(),
            programme_code: "BEN".into(),
            level: 100,
            entry_session: AcademicSession::new(2024).expect("a session"),
        })
        .collect();
    for c in students.chunks(BATCH) {
        store.upsert_students(c).await?;
    }
    let registrations: Vec<Registration> = sheets
        .iter()
        .flat_map(|p| {
            students_of(p).map(|i| Registration {
                matric_no: matric(i),
                course_code: p.course.clone(),
                session: AcademicSession::new(2024).expect("a session"),
                semester: Semester::First,
            })
        })
        .collect();
    for c in registrations.chunks(BATCH) {
        store.upsert_registrations(c).await?;
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let n: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(600);
    let config = Config::load(None)?;
    eportal::telemetry::init_tracing(config.log_format);
    let discipline = config.worker.discipline;
    let concurrency = config.worker.concurrency;
    let app = App::build(config).await?;
    let store = app.services.ports.store.clone();
    let blobs = app.services.ports.blobs.clone();
    let sheets = plan(n);
    let seeding = Instant::now();
    seed(store.as_ref(), &sheets).await?;
    let seeded_in = seeding.elapsed();

    // The burst, recorded while nothing takes jobs: the workers and the relay start below.
    let recording = Instant::now();
    let mut uploads = tokio::task::JoinSet::new();
    let mut lanes: Vec<Vec<(&'static str, NewSheet, Vec<u8>)>> =
        (0..UPLOADERS).map(|_| Vec::new()).collect();
    for (i, p) in sheets.iter().enumerate() {
        let bytes = csv(p);
        let new = NewSheet {
            term: term(&p.course),
            sha256: String::new(),
            size_bytes: bytes.len() as u64,
            filename: Some(format!("{}.csv", p.course.as_str())),
            uploaded_by: "bench".into(),
            mode: SheetMode::Replace,
            rows_estimate: Some(estimate_rows(&bytes)),
        };
        lanes[i % UPLOADERS].push((p.dept, new, bytes));
    }
    for lane in lanes {
        let (store, blobs) = (store.clone(), blobs.clone());
        uploads.spawn(async move {
            let mut ids = Vec::with_capacity(lane.len());
            for (dept, mut new, bytes) in lane {
                new.sha256 = blobs.put(&bytes).await?;
                let (s, _) = store.submit_sheet(&new, None).await?;
                ids.push((s.id, dept));
            }
            anyhow::Ok(ids)
        });
    }
    let mut dept_of: HashMap<i64, &str> = HashMap::new();
    while let Some(lane) = uploads.join_next().await {
        dept_of.extend(lane??);
    }
    let recorded_in = recording.elapsed();

    let released_at_ms = now_ms();
    let listener = eportal::http::serve::bind("127.0.0.1:0".parse()?)?;
    let running = app.start(Some(listener)).await?;
    let released = Instant::now();
    loop {
        let (_, queued) = store.all_sheets(Some(SheetStatus::Queued), 1, 0).await?;
        if queued == 0 {
            break;
        }
        anyhow::ensure!(
            released.elapsed() < Duration::from_secs(3_600),
            "{queued} sheets still queued after an hour"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (all, _) = store.all_sheets(None, n as u32 + 10, 0).await?;
    running.shutdown().await;
    report(Run {
        discipline,
        concurrency,
        all: &all,
        dept_of: &dept_of,
        seeded_in,
        recorded_in,
        released_at_ms,
    });
    Ok(())
}

struct Run<'a> {
    discipline: eportal_core::discipline::Discipline,
    concurrency: usize,
    all: &'a [SheetSummary],
    dept_of: &'a HashMap<i64, &'static str>,
    seeded_in: Duration,
    recorded_in: Duration,
    released_at_ms: i64,
}

fn report(run: Run<'_>) {
    let mut waits: Vec<i64> = Vec::new();
    let mut by_dept: HashMap<&str, Vec<i64>> = HashMap::new();
    let mut last_done = run.released_at_ms;
    let (mut rows, mut accepted, mut rejected) = (0u64, 0u64, 0u64);
    let mut statuses: HashMap<&str, usize> = HashMap::new();
    for s in run.all {
        *statuses.entry(s.status.as_str()).or_default() += 1;
        let (Some(done), Some(dept)) = (s.processed_at_ms, run.dept_of.get(&s.id)) else {
            continue;
        };
        let wait = done - s.uploaded_at_ms;
        waits.push(wait);
        by_dept.entry(dept).or_default().push(wait);
        last_done = last_done.max(done);
        rows += u64::from(s.rows_total);
        accepted += u64::from(s.rows_accepted);
        rejected += u64::from(s.rows_rejected);
    }
    waits.sort_unstable();
    let means: Vec<f64> = by_dept
        .values()
        .map(|w| w.iter().sum::<i64>() as f64 / w.len() as f64)
        .collect();
    let worst = means.iter().cloned().fold(f64::MIN, f64::max);
    let best = means.iter().cloned().fold(f64::MAX, f64::min);
    // Throughput: from the moment the workers were let go to the last sheet processed.
    let span_s = (last_done - run.released_at_ms).max(1) as f64 / 1000.0;
    println!(
        "{}",
        serde_json::json!({
            "discipline": run.discipline.as_str(),
            "concurrency": run.concurrency,
            "sheets": waits.len(),
            "statuses": statuses,
            "rows": rows,
            "rows_accepted": accepted,
            "rows_rejected": rejected,
            "seed_s": run.seeded_in.as_secs_f64(),
            "upload_s": run.recorded_in.as_secs_f64(),
            "process_s": span_s,
            "p50_ms": percentile(&waits, 0.50),
            "p95_ms": percentile(&waits, 0.95),
            "max_ms": waits.last().copied().unwrap_or(0),
            "dept_worst_over_best": worst / best.max(1.0),
            "sheets_per_s": waits.len() as f64 / span_s,
            "rows_per_s": rows as f64 / span_s,
        })
    );
}
