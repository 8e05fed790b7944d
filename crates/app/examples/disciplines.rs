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
//! sheets in isolation). The sheets' rows name students the course does not have, so every
//! row is read and judged and none is applied: the work per sheet grows with its rows, which
//! is what the disciplines care about. Deterministic: the same SHEETS give the same burst.

use eportal::{App, Config};
use eportal_core::model::{Course, CourseTerm, Department, Faculty};
use eportal_core::sheet::estimate_rows;
use eportal_core::{AcademicSession, CourseCode, Semester};
use eportal_ports::{NewSheet, SheetMode, SheetStatus, SheetSummary};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::HashMap;
use std::time::{Duration, Instant};

const DEPARTMENTS: [&str; 10] = [
    "CSC", "MTH", "PHY", "CHM", "BIO", "GEO", "ECO", "STA", "AGR", "ZOO",
];

struct Planned {
    dept: &'static str,
    course: CourseCode,
    rows: u32,
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
            }
        })
        .collect();
    for i in (1..sheets.len()).rev() {
        let j = rng.gen_range(0..=i);
        sheets.swap(i, j);
    }
    sheets
}

fn csv(p: &Planned) -> Vec<u8> {
    let mut s = String::from("S/N,Matric No,Name,CA (40),Exam (60)\r\n");
    for r in 1..=p.rows {
        s.push_str(&format!(
            "{r},BEN/2024/{r:05},Student {r},{},{}\r\n",
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

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let n: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(600);
    let config = Config::load(None)?;
    let discipline = config.worker.discipline;
    let app = App::build(config).await?;
    let store = app.services.ports.store.clone();
    let blobs = app.services.ports.blobs.clone();
    let sheets = plan(n);

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
    store.upsert_courses(&courses).await?;
    let files: Vec<Vec<u8>> = sheets.iter().map(csv).collect();

    let listener = eportal::http::serve::bind("127.0.0.1:0".parse()?)?;
    let running = app.start(Some(listener)).await?;
    let started = Instant::now();
    let mut dept_of: HashMap<i64, &str> = HashMap::new();
    for (p, bytes) in sheets.iter().zip(&files) {
        let new = NewSheet {
            term: term(&p.course),
            sha256: blobs.put(bytes).await?,
            size_bytes: bytes.len() as u64,
            filename: Some(format!("{}.csv", p.course.as_str())),
            uploaded_by: "bench".into(),
            mode: SheetMode::Replace,
            rows_estimate: Some(estimate_rows(bytes)),
        };
        let (s, _) = store.submit_sheet(&new, None).await?;
        dept_of.insert(s.id, p.dept);
    }
    let uploaded_in = started.elapsed();
    loop {
        let (_, queued) = store.all_sheets(Some(SheetStatus::Queued), 1, 0).await?;
        if queued == 0 {
            break;
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(3_600),
            "{queued} sheets still queued after an hour"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (all, _) = store.all_sheets(None, n as u32 + 10, 0).await?;
    running.shutdown().await;
    report(discipline, &all, &dept_of, uploaded_in);
    Ok(())
}

fn report(
    discipline: eportal_core::discipline::Discipline,
    all: &[SheetSummary],
    dept_of: &HashMap<i64, &str>,
    uploaded_in: Duration,
) {
    let mut waits: Vec<i64> = Vec::new();
    let mut by_dept: HashMap<&str, Vec<i64>> = HashMap::new();
    let first_upload = all.iter().map(|s| s.uploaded_at_ms).min().unwrap_or(0);
    let mut last_done = first_upload;
    let mut rows = 0u64;
    for s in all {
        let (Some(done), Some(dept)) = (s.processed_at_ms, dept_of.get(&s.id)) else {
            continue;
        };
        let wait = done - s.uploaded_at_ms;
        waits.push(wait);
        by_dept.entry(dept).or_default().push(wait);
        last_done = last_done.max(done);
        rows += u64::from(s.rows_total);
    }
    waits.sort_unstable();
    let means: Vec<f64> = by_dept
        .values()
        .map(|w| w.iter().sum::<i64>() as f64 / w.len() as f64)
        .collect();
    let worst = means.iter().cloned().fold(f64::MIN, f64::max);
    let best = means.iter().cloned().fold(f64::MAX, f64::min);
    let span_s = (last_done - first_upload).max(1) as f64 / 1000.0;
    println!(
        "{}",
        serde_json::json!({
            "discipline": discipline.as_str(),
            "sheets": waits.len(),
            "rows": rows,
            "upload_s": uploaded_in.as_secs_f64(),
            "p50_ms": percentile(&waits, 0.50),
            "p95_ms": percentile(&waits, 0.95),
            "max_ms": waits.last().copied().unwrap_or(0),
            "dept_worst_over_best": worst / best.max(1.0),
            "sheets_per_s": waits.len() as f64 / span_s,
            "rows_per_s": rows as f64 / span_s,
        })
    );
}
