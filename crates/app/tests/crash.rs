//! The crash test of the embedded deployment: start `eportal serve` as a child process,
//! upload many sheets, `kill -9` it while its worker holds a job (the queue reports one in
//! flight), start it again on the same data directory, and check that the job in hand was
//! delivered again (a redelivery counted by the second process), that every accepted row is
//! present exactly once, and that every GPA equals one worked out by this test's own
//! arithmetic from the rows it uploaded.
//!
//! The university is seeded with `eportal import`; sheets go over HTTP as a lecturer would
//! send them; the verdict is read from the store itself once the second process has
//! finished. Waits are bounded polls, never fixed sleeps.

mod cli_support;

use cli_support::{eportal, first_sign_in, open, outcome, run, Child};
use eportal_core::model::CourseTerm;
use eportal_core::{AcademicSession, CourseCode, GradingPolicy, MatricNo, Score, Semester};
use eportal_ports::SheetStatus;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;
use std::path::Path;
use std::time::{Duration, Instant};

const STUDENTS: usize = 400;
const COURSES: usize = 40;
/// Courses whose sheet is uploaded a second time, corrected (the newer sheet must win).
const CORRECTED: usize = 6;
const LECTURERS: usize = 4;
const SESSION: &str = "2024/2025";

fn matric(s: usize) -> String {
    format!("CRS/2024/{:04}", s + 1)
}

fn course(c: usize) -> (String, Semester) {
    // Even courses in the first semester, odd ones in the second.
    let semester = match c % 2 {
        0 => Semester::First,
        _ => Semester::Second,
    };
    (format!("CRS {}", 101 + c), semester)
}

fn lecturer(c: usize) -> String {
    format!("LEC/{}", c % LECTURERS + 1)
}

fn lecturer_password(l: &str) -> String {
    format!("{}-secret", l.replace('/', "-").to_lowercase())
}

/// Writes the university's CSV files and imports them with the CLI.
fn seed(dir: &Path) {
    let files = dir.join("import");
    std::fs::create_dir_all(&files).unwrap();
    let mut staff = String::from("staff_id,name,department,roles,password\n");
    for l in 1..=LECTURERS {
        let id = format!("LEC/{l}");
        writeln!(
            staff,
            "{id},Dr Lecturer {l},CRS,lecturer,{}",
            lecturer_password(&id)
        )
        .unwrap();
    }
    let mut students = String::from("matric_no,surname,first_name,programme,level,entry_session\n");
    let mut courses = String::from("code,title,units,department,level,semester\n");
    let mut allocations = String::from("course,session,semester,staff_id\n");
    let mut registrations = String::from("matric_no,course,session,semester\n");
    for s in 0..STUDENTS {
        writeln!(
            students,
            "{},Student,Number {s},BSC-CRS,100,{SESSION}",
            matric(s)
        )
        .unwrap();
    }
    for c in 0..COURSES {
        let (code, sem) = course(c);
        writeln!(courses, "{code},Course {c},{},CRS,100,{sem}", 2 + c % 2).unwrap();
        writeln!(allocations, "{code},{SESSION},{sem},{}", lecturer(c)).unwrap();
        for s in 0..STUDENTS {
            writeln!(registrations, "{},{code},{SESSION},{sem}", matric(s)).unwrap();
        }
    }
    let all = [
        (
            "faculties",
            "code,name\nSCI,Faculty of Science\n".to_string(),
        ),
        (
            "departments",
            "code,name,faculty\nCRS,Crash Studies,SCI\n".to_string(),
        ),
        (
            "programmes",
            "code,name,department,duration_years\nBSC-CRS,B.Sc. Crash Studies,CRS,4\n".to_string(),
        ),
        ("staff", staff),
        ("students", students),
        ("courses", courses),
        ("allocations", allocations),
        ("registrations", registrations),
    ];
    for (kind, text) in all {
        let file = files.join(format!("{kind}.csv"));
        std::fs::write(&file, text).unwrap();
        let (code, out, err) = outcome(&run(eportal(dir).args(["import", kind]).arg(&file)));
        assert_eq!(code, 0, "seeding {kind}: {out}{err}");
    }
}

/// A sheet: its CSV and the (ca, exam) of every row it must have accepted, by matric.
struct Sheet {
    course: usize,
    csv: String,
    accepted: BTreeMap<String, (Score, Score)>,
    bad_rows: u32,
}

fn sheet(c: usize, version: usize) -> Sheet {
    let mut csv = String::from("S/N,Matric No,Name,CA (40),Exam (60)\n");
    let mut accepted = BTreeMap::new();
    let over = (c * 31) % STUDENTS;
    for s in 0..STUDENTS {
        let ca = (c * 7 + s * 13 + version * 3) % 41;
        let exam = (c * 11 + s * 17) % 61;
        let exam_cell = if s == over {
            "75".to_string()
        } else {
            exam.to_string()
        };
        writeln!(csv, "{},{},Student {s},{ca},{exam_cell}", s + 1, matric(s)).unwrap();
        if s != over {
            accepted.insert(
                matric(s),
                (Score::from_marks(ca as u16), Score::from_marks(exam as u16)),
            );
        }
    }
    // An unknown student, and an exact copy of the first row.
    writeln!(csv, "{},CRS/1999/0001,Nobody,20,40", STUDENTS + 1).unwrap();
    let (_, first) = csv.lines().nth(1).unwrap().split_once(',').unwrap();
    let first = first.to_string();
    writeln!(csv, "{},{first}", STUDENTS + 2).unwrap();
    Sheet {
        course: c,
        csv,
        accepted,
        bad_rows: 3,
    }
}

fn serve(dir: &Path, log: &str) -> Child {
    let mut cmd = eportal(dir);
    cmd.args(["serve", "--role", "all", "--listen", "127.0.0.1:0"])
        .env("EPORTAL_WORKER__LEASE_MS", "2000")
        .env("EPORTAL_WORKER__POLL_MS", "50")
        .env("EPORTAL_WORKER__CONCURRENCY", "1");
    Child::spawn(cmd, dir.join(log))
}

const IN_FLIGHT: &str = "eportal_queue_depth{state=\"in_flight\"}";

/// The value of one series (name and labels exactly as exposed) on the process's /metrics.
async fn metric(http: &reqwest::Client, base: &str, series: &str) -> u64 {
    let text = http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .expect("the portal answers")
        .text()
        .await
        .expect("metrics text");
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.parse::<f64>().ok())
        .map_or(0, |v| v as u64)
}

async fn status(http: &reqwest::Client, base: &str, token: &str, id: i64) -> String {
    let res = http
        .get(format!("{base}/api/v1/score-sheets/{id}"))
        .bearer_auth(token)
        .send()
        .await
        .expect("the portal answers");
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    body["status"].as_str().expect("a status").to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn kill_9_mid_batch_loses_nothing_and_duplicates_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    seed(dir);

    let mut first = serve(dir, "first.log");
    let base = first.wait_listening(Duration::from_secs(60));
    let http = reqwest::Client::new();
    let mut tokens = HashMap::new();
    for l in 1..=LECTURERS {
        let id = format!("LEC/{l}");
        // Imported accounts choose their own password at first sign-in.
        let token = first_sign_in(&http, &base, &id, &lecturer_password(&id)).await;
        tokens.insert(id, token);
    }
    let sheets: Vec<Sheet> = (0..COURSES)
        .map(|c| sheet(c, 0))
        .chain((0..CORRECTED).map(|c| sheet(c, 1)))
        .collect();
    let mut ids = Vec::new();
    for sh in &sheets {
        let (code, sem) = course(sh.course);
        let res = http
            .post(format!("{base}/api/v1/score-sheets"))
            .query(&[
                ("course", code.as_str()),
                ("session", SESSION),
                ("semester", &sem.to_string()),
            ])
            .header("content-type", "text/csv")
            .bearer_auth(&tokens[&lecturer(sh.course)])
            .body(sh.csv.clone())
            .send()
            .await
            .unwrap();
        let status = res.status();
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(status, 202, "{body}");
        ids.push(body["id"].as_i64().expect("a sheet id"));
    }

    // Kill as soon as some sheets are done and others are still waiting or in a worker.
    // A sheet's status is its lecturer's to read.
    let token_for = |i: usize| tokens[&lecturer(sheets[i].course)].clone();
    let deadline = Instant::now() + Duration::from_secs(60);
    let pending_at_kill = loop {
        let mut finals = 0;
        let mut pending = 0;
        for (i, id) in ids.iter().enumerate() {
            if status(&http, &base, &token_for(i), *id).await == "queued" {
                pending += 1;
            } else {
                finals += 1;
            }
        }
        // Only with a job in the worker's hands: that is what the kill must interrupt.
        if finals > 0 && pending > 0 && metric(&http, &base, IN_FLIGHT).await >= 1 {
            first.kill_hard();
            eprintln!(
                "kill -9 with {pending} of {} sheets not yet final",
                ids.len()
            );
            break pending;
        }
        assert!(pending > 0, "every sheet was processed before the kill; the test proves nothing (make the sheets larger)");
        assert!(
            Instant::now() < deadline,
            "no sheet was processed within 60 s\n{}",
            first.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(pending_at_kill > 0);

    // Same data directory: the leased job comes back after its lease, the rest are taken.
    let mut second = serve(dir, "second.log");
    let base = second.wait_listening(Duration::from_secs(60));
    let deadline = Instant::now() + Duration::from_secs(180);
    for (i, id) in ids.iter().enumerate() {
        loop {
            // Tokens are signed with the key stored in the database, so they survive restarts.
            if status(&http, &base, &token_for(i), *id).await != "queued" {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "sheet {id} still queued after the restart\n{}",
                second.log_tail()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    // A job whose sheet was committed just before the kill, but not acknowledged, leaves its
    // sheet final while the job waits out its lease: wait until the queue is empty.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut left = 0;
        for state in ["ready", "in_flight", "delayed"] {
            let series = format!("eportal_queue_depth{{state=\"{state}\"}}");
            left += metric(&http, &base, &series).await;
        }
        if left == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{left} jobs still in the queue 30 s after every sheet was final\n{}",
            second.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let redelivered = metric(&http, &base, "eportal_jobs_redelivered_total").await;
    eprintln!("after the restart: {redelivered} job(s) delivered again");
    assert!(
        redelivered >= 1,
        "the job in hand at the kill was not delivered again after the restart (redeliveries: \
         {redelivered}); the kill hit no job, so the test proves less than it claims"
    );
    assert_eq!(second.stop(Duration::from_secs(30)), Some(0));

    verify(dir, &sheets, &ids).await;
}

/// Reads the store directly and checks every promise of the pipeline.
async fn verify(dir: &Path, sheets: &[Sheet], ids: &[i64]) {
    let s = open(dir).await;
    let store = &s.ports.store;
    let session = AcademicSession::parse(SESSION).unwrap();
    // The newest sheet of each course is the one that counts.
    let mut latest: HashMap<usize, usize> = HashMap::new();
    for (i, sh) in sheets.iter().enumerate() {
        latest.insert(sh.course, i);
    }
    for (i, sh) in sheets.iter().enumerate() {
        let report = store
            .sheet(ids[i])
            .await
            .unwrap()
            .expect("the sheet exists");
        let st = report.sheet.status;
        if latest[&sh.course] == i {
            assert_eq!(
                st,
                SheetStatus::Processed,
                "sheet {} of course {}",
                ids[i],
                sh.course
            );
            assert_eq!(report.sheet.rows_accepted as usize, sh.accepted.len());
            assert_eq!(
                report.sheet.rows_rejected, sh.bad_rows,
                "{:?}",
                report.row_errors
            );
        } else {
            assert_eq!(
                st,
                SheetStatus::Superseded,
                "an older sheet of course {} is superseded",
                sh.course
            );
        }
    }
    for (c, &i) in &latest {
        let (code, semester) = course(*c);
        let term = CourseTerm {
            course_code: CourseCode::parse(&code).unwrap(),
            session,
            semester,
        };
        let records = store.course_records(&term).await.unwrap();
        let mut got: BTreeMap<String, (Score, Score)> = BTreeMap::new();
        for r in &records {
            let dup = got.insert(r.matric_no.to_string(), (r.ca, r.exam));
            assert!(
                dup.is_none(),
                "{code}: {} has two current records",
                r.matric_no
            );
            assert_eq!(
                r.sheet_id, ids[i],
                "{code}: {} comes from the newest sheet",
                r.matric_no
            );
            assert_eq!(r.total, r.ca.checked_add(r.exam).unwrap());
        }
        assert_eq!(
            got, sheets[i].accepted,
            "{code}: the records are exactly the accepted rows"
        );
    }
    // GPAs worked out from the uploaded rows with this test's own arithmetic (the default
    // five-point scale written out; totals are whole marks here, so no rounding before
    // grading; GPA = Σ units × points ÷ Σ units in hundredths, half up), never with the core's
    // grading or GPA functions.
    let book = s.policies.active_now().await.unwrap();
    assert_eq!(book.default, GradingPolicy::default());
    assert!(book.cohorts.is_empty() && book.results.is_empty());
    let points = |marks: u16| match marks {
        70.. => 5u32,
        60..=69 => 4,
        50..=59 => 3,
        45..=49 => 2,
        40..=44 => 1,
        _ => 0,
    };
    let hundredths = |w: u32, u: u32| (200 * w + u) / (2 * u);
    assert_eq!((hundredths(19, 5), hundredths(2, 3)), (380, 67), "half up");
    for st in 0..STUDENTS {
        let m = MatricNo::parse(&matric(st)).unwrap();
        // (units, units × points) of the first and the second semester.
        let mut sums = [(0u32, 0u32); 2];
        for (&c, &i) in &latest {
            if let Some((ca, exam)) = sheets[i].accepted.get(&matric(st)) {
                let marks = (ca.tenths() + exam.tenths()) / 10;
                let units = 2 + (c % 2) as u32;
                let sem = usize::from(course(c).1 == Semester::Second);
                sums[sem].0 += units;
                sums[sem].1 += units * points(marks);
            }
        }
        let (mut cu, mut cw) = (0, 0);
        let mut want = Vec::new();
        for (u, w) in sums.into_iter().filter(|(u, _)| *u > 0) {
            cu += u;
            cw += w;
            want.push([u, w, hundredths(w, u), cu, cw, hundredths(cw, cu)]);
        }
        let stored: Vec<[u32; 6]> = store
            .semester_results(&m)
            .await
            .unwrap()
            .iter()
            .map(|r| {
                [
                    r.units,
                    r.weighted_points,
                    u32::from(r.gpa.hundredths()),
                    r.cumulative_units,
                    r.cumulative_weighted_points,
                    u32::from(r.cgpa.hundredths()),
                ]
            })
            .collect();
        assert_eq!(
            stored, want,
            "{m}: [units, weighted points, GPA×100, cumulative units, cumulative weighted \
             points, CGPA×100] per semester"
        );
    }
}
