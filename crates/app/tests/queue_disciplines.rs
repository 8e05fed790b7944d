//! Queue disciplines on both queues: the embedded one (SQLite's job table) and the
//! distributed one (PostgreSQL's outbox, released by the relay to RabbitMQ a window at a
//! time). A fixed set of waiting sheets from four departments, with skewed sizes, is recorded
//! through the store as an upload records it; the test then takes the jobs as workers do and
//! checks they come in the order `eportal_core::discipline::order` defines (with several
//! workers at once: that the first k taken are the definition's first k), and that ageing
//! promotes an old sheet under LIFO and SJF. A refresh of stale GPAs that an applied sheet
//! queues is background work: it waits behind the sheets until it has aged.
//!
//! Nothing here processes a sheet: the test is the worker, so it sees exactly what a worker
//! would be handed.

mod support;

use eportal::{App, Config};
use eportal_core::discipline::{order, Discipline, JobMeta, Waiting};
use eportal_core::jobs::{Envelope, Job};
use eportal_core::model::{Course, CourseTerm, Department, Faculty, Programme, Registration};
use eportal_core::{AcademicSession, CourseCode, Semester};
use eportal_ports::contract::store::fixture;
use eportal_ports::{ApplyOutcome, Delivery, NewSheet, RecordStore, SheetMode, SheetOutcome};
use std::collections::HashSet;
use std::time::{Duration, Instant};
use support::engines::{amqp_url, Isolation};

/// (department, rows) in upload order: one department uploads half the sheets, sizes skewed,
/// with a tie (40 rows) to check that ties go to the older sheet.
const SHEETS: [(&str, u32); 10] = [
    ("CSC", 500),
    ("CSC", 40),
    ("CSC", 900),
    ("MTH", 40),
    ("CSC", 60),
    ("PHY", 200),
    ("MTH", 10),
    ("CSC", 3000),
    ("CHM", 35),
    ("CHM", 70),
];
const LEASE: Duration = Duration::from_secs(60);
/// What stands for the refresh job among the sheet ids.
const REFRESH: i64 = -1;
const YOUNG_MS: u64 = 3_600_000;

#[derive(Clone, Copy, Debug)]
enum Deploy {
    Embedded,
    Distributed,
}

struct Line {
    app: App,
    deploy: Deploy,
    /// Sheet ids with their meta, in upload order, and [`REFRESH`] where a refresh was queued.
    sheets: Vec<(i64, JobMeta)>,
    _dir: tempfile::TempDir,
    _iso: Option<Isolation>,
}

async fn line(deploy: Deploy, discipline: Discipline, workers: usize, max_wait_ms: u64) -> Line {
    let dir = tempfile::tempdir().expect("a temporary data directory");
    let mut config = Config {
        data_dir: dir.path().to_path_buf(),
        ..Config::default()
    };
    config.worker.discipline = discipline;
    config.worker.max_wait_ms = max_wait_ms;
    config.worker.concurrency = workers;
    config.worker.release_window = workers as u32;
    let iso = match deploy {
        Deploy::Embedded => None,
        Deploy::Distributed => {
            let iso = Isolation::create("disciplines", &amqp_url()).await;
            config.database_url = iso.database_url.clone();
            config.queue_url = amqp_url();
            config.queue_namespace = iso.queue_namespace.clone();
            Some(iso)
        }
    };
    let app = App::build(config).await.expect("the application builds");
    seed(app.services.ports.store.as_ref()).await;
    Line {
        app,
        deploy,
        sheets: Vec::new(),
        _dir: dir,
        _iso: iso,
    }
}

fn term(dept: &str) -> CourseTerm {
    CourseTerm {
        course_code: CourseCode::parse(&format!("{dept} 101")).expect("a course code"),
        session: AcademicSession::new(2024).expect("a session"),
        semester: Semester::First,
    }
}

/// One faculty, four departments, one course each.
async fn seed(store: &dyn RecordStore) {
    let depts = ["CSC", "MTH", "PHY", "CHM"];
    store
        .upsert_faculties(&[Faculty {
            code: "SCI".into(),
            name: "Science".into(),
        }])
        .await
        .expect("seed the faculty");
    let departments: Vec<Department> = depts
        .iter()
        .map(|d| Department {
            code: (*d).into(),
            name: format!("Department {d}"),
            faculty_code: "SCI".into(),
        })
        .collect();
    store
        .upsert_departments(&departments)
        .await
        .expect("seed departments");
    let courses: Vec<Course> = depts
        .iter()
        .map(|d| Course {
            code: term(d).course_code,
            title: format!("{d} basics"),
            units: 3,
            department_code: (*d).into(),
            level: 100,
            semester: Semester::First,
        })
        .collect();
    store.upsert_courses(&courses).await.expect("seed courses");
}

impl Line {
    /// Records one upload, as the portal does, and keeps its id and meta.
    async fn upload(&mut self, dept: &str, rows: u32) {
        let n = self.sheets.len();
        let new = NewSheet {
            term: term(dept),
            sha256: format!("{:064x}", 0xd15c_0000 + n),
            size_bytes: 100 + u64::from(rows) * 20,
            filename: Some(format!("sheet-{n}.csv")),
            uploaded_by: "L001".into(),
            mode: SheetMode::Replace,
            rows_estimate: Some(rows),
        };
        let store = &self.app.services.ports.store;
        let (sheet, created) = store.submit_sheet(&new, None).await.expect("submit");
        assert!(created, "each test sheet is new");
        let meta = JobMeta {
            rows: Some(rows),
            class: Some(dept.into()),
            background: false,
        };
        self.sheets.push((sheet.id, meta));
    }

    async fn upload_all(&mut self) {
        for (dept, rows) in SHEETS {
            self.upload(dept, rows).await;
        }
    }

    /// The definition's order of the jobs queued, all young.
    fn expected(&self) -> Vec<i64> {
        let waiting: Vec<Waiting> = self
            .sheets
            .iter()
            .enumerate()
            .map(|(seq, (_, meta))| Waiting {
                seq: seq as i64,
                enqueued_ms: 0,
                meta: meta.clone(),
            })
            .collect();
        let o = self.app.services.config.worker.queue_order();
        order(&waiting, o, 0)
            .into_iter()
            .map(|seq| self.sheets[seq as usize].0)
            .collect()
    }

    /// Records one more sheet of CSC and applies it (one student's score) as a worker would:
    /// its own job stays queued (the worker taking it will find it final), and the apply
    /// queues a refresh of the student's GPA.
    async fn apply_one(&mut self) {
        let store = self.app.services.ports.store.clone();
        store
            .upsert_programmes(&[Programme {
                code: "CSC".into(),
                name: "B.Sc. Computer Science".into(),
                department_code: "CSC".into(),
                duration_years: 4,
            }])
            .await
            .expect("seed the programme");
        let m = "CSC/2024/0001";
        store
            .upsert_students(&[fixture::student(m, "Ade", "CSC")])
            .await
            .expect("seed the student");
        let t = term("CSC");
        store
            .upsert_registrations(&[Registration {
                matric_no: fixture::matric(m),
                course_code: t.course_code.clone(),
                session: t.session,
                semester: t.semester,
            }])
            .await
            .expect("register the student");
        self.upload("CSC", 1).await;
        let id = self.sheets.last().expect("just uploaded").0;
        let book = self.app.services.policies.active().await.expect("the book");
        let row = fixture::row(book.for_session(t.session), 2, &fixture::matric(m), 30, 40);
        let outcome = SheetOutcome::Judged {
            accepted: vec![row],
            rejected: vec![],
        };
        let applied = store.apply_sheet(id, &outcome, &book).await.expect("apply");
        assert!(
            matches!(applied, ApplyOutcome::Applied { .. }),
            "{applied:?}"
        );
        let refresh = Envelope::new(Job::RefreshResults, None).meta;
        assert!(refresh.background);
        self.sheets.push((REFRESH, refresh));
    }

    /// One worker's take: what the queue hands out next (the relay releasing first, on the
    /// distributed queue), waiting up to 10 s for it to arrive.
    async fn take(&self) -> Delivery {
        let s = &self.app.services;
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if matches!(self.deploy, Deploy::Distributed) {
                s.relay_once().await.expect("the relay releases");
            }
            if let Some(d) = s.ports.queue.receive(LEASE).await.expect("receive") {
                return d;
            }
            assert!(Instant::now() < deadline, "no job was handed out in 10 s");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn take_all_in_turn(&self) -> Vec<i64> {
        let mut taken = Vec::new();
        for _ in 0..self.sheets.len() {
            let d = self.take().await;
            self.app.services.ports.queue.ack(&d).await.expect("ack");
            taken.push(sheet_of(&d));
        }
        taken
    }

    /// `k` workers take one job each, at once.
    async fn take_at_once(&self, k: usize) -> HashSet<i64> {
        if matches!(self.deploy, Deploy::Distributed) {
            self.app
                .services
                .relay_once()
                .await
                .expect("the relay releases");
        }
        let takes = (0..k).map(|_| self.take());
        let taken: Vec<Delivery> = futures_util::future::join_all(takes).await;
        taken.iter().map(sheet_of).collect()
    }
}

fn sheet_of(d: &Delivery) -> i64 {
    match d.envelope.job {
        Job::ProcessSheet { sheet_id } => sheet_id,
        Job::RefreshResults => REFRESH,
        ref other => panic!("only sheet jobs and refreshes are queued here, not {other:?}"),
    }
}

async fn in_turn(deploy: Deploy, discipline: Discipline) {
    let mut l = line(deploy, discipline, 1, YOUNG_MS).await;
    l.upload_all().await;
    let expected = l.expected();
    assert_eq!(
        l.take_all_in_turn().await,
        expected,
        "{discipline} on the {deploy:?} queue, one worker"
    );
}

async fn at_once(deploy: Deploy, discipline: Discipline) {
    const K: usize = 3;
    let mut l = line(deploy, discipline, K, YOUNG_MS).await;
    l.upload_all().await;
    let first_k: HashSet<i64> = l.expected()[..K].iter().copied().collect();
    assert_eq!(
        l.take_at_once(K).await,
        first_k,
        "{discipline} on the {deploy:?} queue, {K} workers at once"
    );
}

/// An old, large sheet is taken first once it has waited past the limit, and not before.
async fn ageing(deploy: Deploy, discipline: Discipline) {
    let mut l = line(deploy, discipline, 1, 1_000).await;
    l.upload("CSC", 5_000).await;
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    for (dept, rows) in &SHEETS[..4] {
        l.upload(dept, *rows).await;
    }
    let old = l.sheets[0].0;
    // The control: judged young, the old sheet would not be first.
    assert_ne!(l.expected()[0], old, "{discipline}: the control");
    let first = l.take().await;
    assert_eq!(
        sheet_of(&first),
        old,
        "{discipline} on the {deploy:?} queue: the sheet that waited past the limit goes first"
    );
}

/// A refresh queued while sheets wait is taken after them (under FIFO: in its place in line).
async fn refresh_waits(deploy: Deploy, discipline: Discipline) {
    let mut l = line(deploy, discipline, 1, YOUNG_MS).await;
    for (dept, rows) in &SHEETS[..6] {
        l.upload(dept, *rows).await;
    }
    l.apply_one().await;
    for (dept, rows) in &SHEETS[6..] {
        l.upload(dept, *rows).await;
    }
    let expected = l.expected();
    if discipline != Discipline::Fifo {
        assert_eq!(
            expected.last(),
            Some(&REFRESH),
            "{discipline}: the definition"
        );
    }
    assert_eq!(
        l.take_all_in_turn().await,
        expected,
        "{discipline} on the {deploy:?} queue, a refresh among the sheets"
    );
}

/// Once aged, a refresh goes first under round-robin, where only background jobs age.
async fn refresh_ages(deploy: Deploy) {
    let mut l = line(deploy, Discipline::RoundRobin, 1, 1_000).await;
    l.apply_one().await;
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    for (dept, rows) in &SHEETS[..4] {
        l.upload(dept, *rows).await;
    }
    assert_eq!(
        l.expected().last(),
        Some(&REFRESH),
        "the control: judged young"
    );
    let first = l.take().await;
    assert_eq!(
        sheet_of(&first),
        REFRESH,
        "round_robin on the {deploy:?} queue: the refresh that waited past the limit goes first"
    );
}

macro_rules! cases {
    ($($name:ident: $deploy:ident, $d:ident;)*) => {
        mod in_turn {
            use super::*;
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { in_turn(Deploy::$deploy, Discipline::$d).await })*
        }
        mod at_once {
            use super::*;
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { at_once(Deploy::$deploy, Discipline::$d).await })*
        }
        mod refresh_waits {
            use super::*;
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { refresh_waits(Deploy::$deploy, Discipline::$d).await })*
        }
    };
}

cases! {
    embedded_fifo: Embedded, Fifo;
    embedded_lifo: Embedded, Lifo;
    embedded_sjf: Embedded, Sjf;
    embedded_round_robin: Embedded, RoundRobin;
    distributed_fifo: Distributed, Fifo;
    distributed_lifo: Distributed, Lifo;
    distributed_sjf: Distributed, Sjf;
    distributed_round_robin: Distributed, RoundRobin;
}

mod ageing {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn embedded_lifo() {
        ageing(Deploy::Embedded, Discipline::Lifo).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn embedded_sjf() {
        ageing(Deploy::Embedded, Discipline::Sjf).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn distributed_lifo() {
        ageing(Deploy::Distributed, Discipline::Lifo).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn distributed_sjf() {
        ageing(Deploy::Distributed, Discipline::Sjf).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn embedded_refresh() {
        refresh_ages(Deploy::Embedded).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn distributed_refresh() {
        refresh_ages(Deploy::Distributed).await
    }
}
