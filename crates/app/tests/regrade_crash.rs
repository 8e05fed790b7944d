//! A regrade with workers killed mid-way, on the embedded queue (SQLite) and on RabbitMQ
//! (PostgreSQL + RabbitMQ + Redis), completes with results equal to grading from scratch.
//!
//! For each deployment: a small faculty (the cluster tests' semester plan) whose score sheets
//! are uploaded through a real portal process, processed by a real worker and published, with
//! a results override already active for 2024/2025 (a stricter 4-point scale). Then the
//! default policy is changed to the 4-point scale with `eportal regrade --policy … --no-wait`,
//! and the regrade is run by worker processes that die on the way:
//!
//! 1. a worker with `EPORTAL_FAULT_ABORT_ON_REGRADE=map:3` aborts after grading map task 3
//!    and before storing it (the regrade must still be mapping);
//! 2. a worker with `reduce:5` finishes the maps (task 3 delivered again) and aborts in the
//!    reduce phase (the regrade must be reducing);
//! 3. a plain worker is killed with SIGKILL right after a randomly chosen reduce task (or, if
//!    it gets that far first, aborts before the switch: `commit:0`); the regrade is not done;
//! 4. two fresh workers without any hook finish it.
//!
//! Then, read straight from the store: the regrade is done with every task counted once
//! (records graded = score records, `maps_done` and `reduces_done` = the parts), the new book is
//! active, the scores themselves are the uploaded ones, every record's grade and points are
//! the new book's (checked against bands written out here, and against the core's grading),
//! every student's semester results equal the core's `regrade::reduce` over their records
//! under the new book, and no job was dead-lettered.
//!
//! A missing engine fails the distributed case with its name and `./scripts/services`; it is
//! never skipped. Each case has its own data directory (and database, queue namespace and
//! cache prefix), so the two run side by side with any other test.

mod support;

use eportal_core::grading::GradeBand;
use eportal_core::model::SemesterResult;
use eportal_core::policy_book::ScopedPolicy;
use eportal_core::regrade::{self, RegradeRow};
use eportal_core::workflow::WorkflowState;
use eportal_core::{AcademicSession, GradingPolicy, MatricNo, PolicyBook, Score};
use eportal_ports::{JobQueue, RecordStore, Regrade, RegradeStatus};
use rand::Rng;
use std::collections::{BTreeMap, HashMap};
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::client::Portal;
use support::engines::{self, Isolation};
use support::procs::{self, free_addr, Proc};
use support::semester::{self, Plan, PASSWORD};

/// Enough students that each of the 16 map and reduce tasks has work (about 3,000 records),
/// few enough that a debug build runs the whole case in well under a minute.
const STUDENTS: usize = 300;
/// The session from which the results override applies.
const OVERRIDE_FROM: u16 = 2024;
const SIGABRT: i32 = 6;

/// The results override active before the change (and kept by it): a stricter 4-point scale.
fn strict() -> GradingPolicy {
    let band = |grade: &str, marks: u16, points: u8| GradeBand {
        grade: grade.into(),
        min_total: Score::from_marks(marks),
        points,
    };
    GradingPolicy {
        name: "strict 4-point scale".into(),
        bands: vec![
            band("A", 75, 4),
            band("B", 65, 3),
            band("C", 55, 2),
            band("D", 50, 1),
            band("F", 0, 0),
        ],
        pass_mark: Score::from_marks(50),
        ..GradingPolicy::four_point()
    }
}

/// The book the regrade must switch to.
fn new_book(version: u32) -> PolicyBook {
    PolicyBook {
        version,
        default: GradingPolicy::four_point(),
        cohorts: Vec::new(),
        results: vec![ScopedPolicy {
            from: AcademicSession::new(OVERRIDE_FROM).unwrap(),
            policy: strict(),
        }],
    }
}

/// The book before it: the built-in default with the override.
fn old_book() -> PolicyBook {
    PolicyBook {
        default: GradingPolicy::default(),
        ..new_book(0)
    }
}

/// A record's grade and points under the new book, written out here rather than taken from
/// the core: totals rounded half up to whole marks, then the bands of the record's session.
fn by_hand(session_start: u16, total: Score) -> (&'static str, u8) {
    let marks = (u32::from(total.tenths()) + 5) / 10;
    if session_start >= OVERRIDE_FROM {
        match marks {
            75.. => ("A", 4),
            65..=74 => ("B", 3),
            55..=64 => ("C", 2),
            50..=54 => ("D", 1),
            _ => ("F", 0),
        }
    } else {
        match marks {
            70.. => ("A", 4),
            60..=69 => ("B", 3),
            50..=59 => ("C", 2),
            45..=49 => ("D", 1),
            _ => ("F", 0),
        }
    }
}

/// One deployment under test. Field order matters: processes are killed before the store
/// handle closes and the database and run directory go.
struct Site {
    name: &'static str,
    portal: Option<Proc>,
    workers: Vec<Proc>,
    store: Arc<dyn RecordStore>,
    /// The embedded deployment's file, for its queue's depths.
    sqlite: Option<eportal_sqlite::SqliteStore>,
    iso: Option<Isolation>,
    data_dir: PathBuf,
    run_dir: tempfile::TempDir,
    http: reqwest::Client,
    started: usize,
}

impl Site {
    async fn embedded() -> Site {
        let (run_dir, data_dir) = run_dir("embedded");
        let path = data_dir.join("eportal.sqlite");
        let store = eportal_sqlite::SqliteStore::connect(&path.display().to_string())
            .await
            .expect("the SQLite file opens");
        store.migrate().await.expect("the SQLite file migrates");
        Site {
            name: "embedded",
            portal: None,
            workers: Vec::new(),
            store: Arc::new(store.clone()),
            sqlite: Some(store),
            iso: None,
            data_dir,
            run_dir,
            http: support::client::http_client(),
            started: 0,
        }
    }

    /// Fails (never skips) naming the engine that does not answer.
    async fn distributed() -> Site {
        let iso = Isolation::create("regrade", &engines::amqp_url()).await;
        let store = iso.store().await;
        let (run_dir, data_dir) = run_dir("distributed");
        Site {
            name: "distributed",
            portal: None,
            workers: Vec::new(),
            store: Arc::new(store),
            sqlite: None,
            iso: Some(iso),
            data_dir,
            run_dir,
            http: support::client::http_client(),
            started: 0,
        }
    }

    fn env(&self, extra: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut env = self.iso.as_ref().map(Isolation::env).unwrap_or_default();
        env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        env
    }

    /// An `eportal serve --role ROLE` process on this site, not started.
    fn process(&mut self, name: &str, role: &str, extra: &[(&str, &str)]) -> Proc {
        self.started += 1;
        let name = format!("{}-{name}-{}", self.name, self.started);
        let spec = procs::eportal(&name, role, free_addr(), &self.data_dir, &self.env(extra));
        Proc::new(spec, self.run_dir.path())
    }

    /// A worker started and serving.
    async fn start_worker(&mut self, name: &str) {
        let mut w = self.process(name, "worker", &[]);
        w.start(&self.http).await;
        self.workers.push(w);
    }

    /// A one-shot `eportal` command on this site: exit code, stdout, stderr.
    fn cli(&self, args: &[&str]) -> (i32, String, String) {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_eportal"));
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("EPORTAL_") {
                cmd.env_remove(k);
            }
        }
        let out = cmd
            .arg("--data-dir")
            .arg(&self.data_dir)
            .args(args)
            .envs(self.env(&[]))
            .env("RUST_LOG", "warn")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .output()
            .expect("the eportal binary runs");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn write(&self, file: &str, text: &str) -> String {
        let path = self.run_dir.path().join(file);
        std::fs::write(&path, text).expect("write a file in the run directory");
        path.display().to_string()
    }

    async fn regrade(&self, id: i64) -> Regrade {
        self.store
            .regrade(id)
            .await
            .expect("the store answers")
            .expect("the regrade exists")
    }

    /// Waits until no job is waiting (ready or delayed) and checks none was dead-lettered.
    async fn assert_queue_drained(&self, timeout: Duration) {
        if let Some(iso) = &self.iso {
            return support::verify::assert_queue_drained(iso, timeout).await;
        }
        let queue = self.sqlite.as_ref().expect("embedded").queue();
        let deadline = Instant::now() + timeout;
        loop {
            let s = queue.stats().await.expect("the embedded queue reports");
            assert_eq!(s.dead, 0, "{}: jobs were dead-lettered: {s:?}", self.name);
            if s.ready + s.delayed + s.in_flight == 0 {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{}: jobs still in the queue after {} s: {s:?}",
                self.name,
                timeout.as_secs()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

fn run_dir(case: &str) -> (tempfile::TempDir, PathBuf) {
    // EPORTAL_TEST_KEEP_RUN_DIR=1 keeps the logs and data for reading.
    let keep = std::env::var_os("EPORTAL_TEST_KEEP_RUN_DIR").is_some();
    let run_dir = tempfile::Builder::new()
        .prefix(&format!("eportal-regrade-{case}-"))
        .disable_cleanup(keep)
        .tempdir()
        .expect("a run directory");
    if keep {
        eprintln!("{case}: run directory (kept): {}", run_dir.path().display());
    }
    let data_dir = run_dir.path().join("data");
    std::fs::create_dir_all(&data_dir).expect("the data directory");
    (run_dir, data_dir)
}

/// Seeds the faculty, makes the results override active (no scores yet: at once), uploads
/// every sheet through the portal, waits until a worker has processed them all, publishes
/// every course result, and stops that worker. Leaves the portal running (it relays the
/// outbox on the distributed deployment).
async fn build_university(site: &mut Site, plan: &Plan) {
    semester::seed(site.store.as_ref(), plan, &support::password_hash().await).await;

    let file = site.write(
        "strict.json",
        &serde_json::to_string_pretty(&strict()).unwrap(),
    );
    let scope = format!("results:{OVERRIDE_FROM}/{}", OVERRIDE_FROM + 1);
    let (code, out, err) = site.cli(&["regrade", "--policy", &file, "--scope", &scope]);
    assert_eq!(code, 0, "{}: setting the override: {out}{err}", site.name);
    assert!(
        out.contains("policy version 1 is active"),
        "{}: with no scores the override is active at once: {out}",
        site.name
    );

    let mut portal = site.process("portal", "portal", &[]);
    portal.start(&site.http).await;
    let base = format!(
        "http://{}",
        portal.spec.args[portal
            .spec
            .args
            .iter()
            .position(|a| a == "--listen")
            .unwrap()
            + 1]
    );
    site.portal = Some(portal);
    site.start_worker("seed").await;

    let lb = Portal::new(base);
    let mut tokens: HashMap<String, String> = HashMap::new();
    for o in &plan.offerings {
        if !tokens.contains_key(&o.lecturer) {
            tokens.insert(o.lecturer.clone(), lb.login(&o.lecturer, PASSWORD).await);
        }
    }
    // In plan order: every first version before its correction, so the correction is newer.
    let mut ids = Vec::new();
    for s in &plan.sheets {
        let lecturer = &plan.offerings[s.offering].lecturer;
        let (id, _) = lb
            .upload(&tokens[lecturer], &s.label, &s.query(plan), &s.csv)
            .await;
        ids.push(id);
    }
    let deadline = Instant::now() + Duration::from_secs(180);
    for &id in &ids {
        loop {
            let report = site
                .store
                .sheet(id)
                .await
                .expect("the store answers")
                .expect("an accepted sheet is stored");
            if report.sheet.status.is_final() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{}: sheet {id} not processed within 180 s",
                site.name
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    for o in &plan.offerings {
        let mut state = WorkflowState::Draft;
        for next in [
            WorkflowState::Submitted,
            WorkflowState::HodApproved,
            WorkflowState::FacultyApproved,
            WorkflowState::SenateApproved,
            WorkflowState::Published,
        ] {
            site.store
                .transition(&o.term, state, next, "regrade-crash-test", None)
                .await
                .unwrap_or_else(|e| panic!("{}: publishing {}: {e}", site.name, o.course.code));
            state = next;
        }
    }
    site.assert_queue_drained(Duration::from_secs(60)).await;
    for mut w in site.workers.drain(..) {
        w.kill9();
    }
}

/// Waits (bounded) until a process exits on its own.
async fn wait_exit(p: &mut Proc, timeout: Duration) -> ExitStatus {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = p.exited() {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "{} was expected to abort within {} s and did not; its log:\n{}",
            p.spec.name,
            timeout.as_secs(),
            p.tail(40)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Runs a worker with `EPORTAL_FAULT_ABORT_ON_REGRADE=hook` until the hook aborts it.
async fn abort_on(site: &mut Site, hook: &str) {
    // Spawned, not started: it may reach its task before its readiness is seen.
    let mut w = site.process(
        &format!("abort-{}", hook.replace(':', "")),
        "worker",
        &[("EPORTAL_FAULT_ABORT_ON_REGRADE", hook)],
    );
    w.spawn();
    let status = wait_exit(&mut w, Duration::from_secs(120)).await;
    assert_eq!(
        status.signal(),
        Some(SIGABRT),
        "{} ended ({status}) but not by its fault hook; its log:\n{}",
        w.spec.name,
        w.tail(40)
    );
    let log = std::fs::read_to_string(&w.log).unwrap_or_default();
    assert!(
        log.contains(&format!("aborting the process in regrade task {hook}")),
        "{} aborted, but not in task {hook}; its log:\n{}",
        w.spec.name,
        w.tail(40)
    );
}

/// Runs a plain worker and SIGKILLs it right after a randomly chosen reduce task is stored
/// (or when it aborts before the switch, `commit:0`, if it gets that far first).
async fn kill_at_random(site: &mut Site, id: i64) {
    let before = site.regrade(id).await;
    let left = before.parts.reduce - before.reduces_done;
    let target = before.reduces_done + rand::thread_rng().gen_range(1..=left.max(1));
    let jitter = Duration::from_millis(rand::thread_rng().gen_range(0..=30));
    eprintln!(
        "{}: SIGKILL once {target} of {} reduce tasks are done (+{} ms)",
        site.name,
        before.parts.reduce,
        jitter.as_millis()
    );
    let mut w = site.process(
        "random-kill",
        "worker",
        &[("EPORTAL_FAULT_ABORT_ON_REGRADE", "commit:0")],
    );
    w.spawn();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Some(status) = w.exited() {
            assert_eq!(
                status.signal(),
                Some(SIGABRT),
                "{} ended ({status}) by itself, not by its commit hook; its log:\n{}",
                w.spec.name,
                w.tail(40)
            );
            eprintln!(
                "{}: the worker reached the switch and aborted before it",
                site.name
            );
            return;
        }
        let r = site.regrade(id).await;
        if r.reduces_done >= target || r.status != RegradeStatus::Reducing {
            tokio::time::sleep(jitter).await;
            w.kill9();
            let r = site.regrade(id).await;
            eprintln!(
                "{}: SIGKILL with {} reduce tasks done ({})",
                site.name,
                r.reduces_done,
                r.status.as_str()
            );
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{}: no progress within 120 s; its log:\n{}",
            w.spec.name,
            w.tail(40)
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn run_case(site: &mut Site) {
    let plan = semester::plan(STUDENTS);
    build_university(site, &plan).await;
    let name = site.name;

    let file = site.write(
        "four_point.json",
        &serde_json::to_string_pretty(&GradingPolicy::four_point()).unwrap(),
    );
    let (code, out, err) = site.cli(&["regrade", "--policy", &file, "--no-wait"]);
    assert_eq!(code, 0, "{name}: eportal regrade --no-wait: {out}{err}");
    assert!(
        out.contains("policy version 1 → 2"),
        "{name}: the regrade goes from version 1 to 2: {out}"
    );
    let id = site.store.regrades(1).await.unwrap()[0].id;
    let r = site.regrade(id).await;
    assert_eq!(r.status, RegradeStatus::Mapping, "{name}: {r:?}");

    abort_on(site, "map:3").await;
    let r = site.regrade(id).await;
    eprintln!("{name}: after the map:3 abort: {r:?}");
    assert_eq!(
        r.status,
        RegradeStatus::Mapping,
        "{name}: map task 3 was never stored, so mapping cannot be over"
    );
    assert!(r.maps_done < r.parts.map);

    abort_on(site, "reduce:5").await;
    let r = site.regrade(id).await;
    eprintln!("{name}: after the reduce:5 abort: {r:?}");
    assert_eq!(
        (r.status, r.maps_done),
        (RegradeStatus::Reducing, r.parts.map),
        "{name}: the maps are done and reduce task 5 was never stored"
    );
    assert!(r.reduces_done < r.parts.reduce);

    kill_at_random(site, id).await;
    let r = site.regrade(id).await;
    eprintln!("{name}: after the random kill: {r:?}");
    assert_ne!(
        r.status,
        RegradeStatus::Done,
        "{name}: no worker has switched yet"
    );
    assert!(!r.status.is_final(), "{name}: {r:?}");
    assert_eq!(
        site.store.active_policy_version().await.unwrap(),
        1,
        "{name}: until the switch the old book is active"
    );

    site.start_worker("final-a").await;
    site.start_worker("final-b").await;
    let deadline = Instant::now() + Duration::from_secs(180);
    let done = loop {
        let r = site.regrade(id).await;
        match r.status {
            RegradeStatus::Done => break r,
            RegradeStatus::Failed => panic!("{name}: the regrade failed: {r:?}"),
            _ => {}
        }
        assert!(
            Instant::now() < deadline,
            "{name}: the regrade is not done 180 s after two fresh workers started: {r:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    eprintln!("{name}: done: {done:?}");
    site.assert_queue_drained(Duration::from_secs(60)).await;
    for w in &mut site.workers {
        assert!(
            w.is_running(),
            "{} died; its log:\n{}",
            w.spec.name,
            w.tail(40)
        );
    }
    verify(site, &plan, &done).await;
}

/// Checks everything the module's description promises, from the store.
async fn verify(site: &Site, plan: &Plan, done: &Regrade) {
    let name = site.name;
    let store = site.store.as_ref();
    let book = new_book(done.to_version);
    let old = old_book();
    assert_eq!((done.from_version, done.to_version), (1, 2), "{name}");
    assert_eq!(store.active_policy_version().await.unwrap(), 2, "{name}");
    assert_eq!(
        store.active_policy().await.unwrap(),
        Some(book.clone()),
        "{name}: the active book is the 4-point default with the strict override kept"
    );

    // What the plan uploaded: the latest sheet of each course is the one that counts.
    let mut want: BTreeMap<(MatricNo, String), Score> = BTreeMap::new();
    let mut latest: HashMap<usize, usize> = HashMap::new();
    for (i, s) in plan.sheets.iter().enumerate() {
        latest.insert(s.offering, i);
    }
    for (&o, &i) in &latest {
        let code = plan.offerings[o].term.course_code.as_str().to_string();
        for (m, (ca, exam)) in &plan.sheets[i].accepted {
            want.insert((m.clone(), code.clone()), ca.checked_add(*exam).unwrap());
        }
    }

    let entry = AcademicSession::new(2021).unwrap();
    let (mut records, mut students, mut changed) = (0u64, 0u64, 0u64);
    for m in &plan.students {
        let (stored, version) = store.graded_records(m).await.unwrap();
        if stored.is_empty() {
            continue;
        }
        assert_eq!(
            version,
            Some(2),
            "{name}: {m}'s records are read with the new book"
        );
        students += 1;
        records += stored.len() as u64;
        let mut rows = Vec::new();
        for r in &stored {
            let key = (m.clone(), r.course_code.as_str().to_string());
            assert_eq!(
                Some(&r.total),
                want.get(&key),
                "{name}: {m} {}: the score is the uploaded one",
                r.course_code
            );
            assert_eq!(
                r.state,
                WorkflowState::Published,
                "{name}: {m} {}",
                r.course_code
            );
            let (grade, points) = by_hand(r.session.start_year(), r.total);
            assert_eq!(
                (r.grade.as_str(), r.points),
                (grade, points),
                "{name}: {m} {} {} (total {}): grade and points under the new book",
                r.course_code,
                r.session,
                r.total
            );
            let row = RegradeRow::of(r, entry);
            assert_eq!(
                regrade::grade(&book, &row),
                (r.grade.clone(), r.points),
                "{name}: {m} {}: the core grades it the same",
                r.course_code
            );
            changed += u64::from(regrade::grade(&old, &row) != (r.grade.clone(), r.points));
            rows.push(row);
        }
        // From scratch: every record graded again, then the semester results.
        let mut fresh = rows.clone();
        for row in &mut fresh {
            row.grade.clear();
            row.points = 0;
        }
        regrade::map(&book, &mut fresh);
        assert_eq!(fresh, rows, "{name}: {m}: graded from scratch");
        let want_results: Vec<SemesterResult> = regrade::reduce(&book, &fresh);
        let got = store.semester_results(m).await.unwrap();
        assert_eq!(
            got, want_results,
            "{name}: {m}: stored semester results differ from grading from scratch"
        );
    }
    assert_eq!(
        records as usize,
        want.len(),
        "{name}: every uploaded score is stored once"
    );
    assert_eq!(
        (done.maps_done, done.reduces_done),
        (done.parts.map, done.parts.reduce),
        "{name}: each task counted once"
    );
    assert_eq!(
        (done.records, done.students, done.changed),
        (records, students, changed),
        "{name}: (records graded, students, records changed) count each record and student once"
    );
    assert!(
        changed > 0 && changed < records,
        "{name}: the change moved some grades, not all"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_regrade_with_killed_workers_equals_grading_from_scratch() {
    let mut site = Site::embedded().await;
    run_case(&mut site).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distributed_regrade_with_killed_workers_equals_grading_from_scratch() {
    let mut site = Site::distributed().await;
    run_case(&mut site).await;
}

#[test]
fn the_written_out_bands_agree_with_the_policies() {
    for tenths in (0..=1000).step_by(5) {
        let total = Score::from_tenths(tenths);
        for (year, policy) in [(2023, GradingPolicy::four_point()), (2024, strict())] {
            let g = policy.grade(total);
            assert_eq!(
                by_hand(year, total),
                (g.grade.as_str(), g.points),
                "total {total} in {year}"
            );
        }
    }
}
