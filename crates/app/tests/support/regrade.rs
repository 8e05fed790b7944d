//! The regrade crash test's deployments and verdict (`regrade_crash.rs`): the grading
//! policies before and after the change (with their bands written out by hand), a [`Site`]
//! (embedded or distributed) of `eportal` processes over one data directory, the university
//! built and published through a real portal and worker, and the check, from the store, that
//! a finished regrade equals grading from scratch.

use super::client::Portal;
use super::engines::{self, Isolation};
use super::procs::{self, free_addr, Proc};
use super::semester::{self, Plan, PASSWORD};
use eportal_core::grading::GradeBand;
use eportal_core::model::SemesterResult;
use eportal_core::policy_book::ScopedPolicy;
use eportal_core::regrade::{self, RegradeRow};
use eportal_core::workflow::WorkflowState;
use eportal_core::{AcademicSession, GradingPolicy, MatricNo, PolicyBook, Score};
use eportal_ports::{JobQueue, RecordStore, Regrade};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The session from which the results override applies.
pub const OVERRIDE_FROM: u16 = 2024;

fn band(grade: &str, marks: u16, points: u8) -> GradeBand {
    GradeBand {
        grade: grade.into(),
        min_total: Score::from_marks(marks),
        points,
    }
}

/// The results override active before the change (and kept by it): a stricter 5-point scale
/// without E. (An override keeps the students' points scale: the book refuses another.)
pub fn strict() -> GradingPolicy {
    GradingPolicy {
        name: "strict 5-point scale".into(),
        bands: vec![
            band("A", 75, 5),
            band("B", 65, 4),
            band("C", 55, 3),
            band("D", 50, 2),
            band("F", 0, 0),
        ],
        pass_mark: Score::from_marks(50),
        ..GradingPolicy::nigerian_five_point()
    }
}

/// The new default: the 5-point scale with every band 5 marks higher.
pub fn raised() -> GradingPolicy {
    GradingPolicy {
        name: "5-point scale, bands raised".into(),
        bands: vec![
            band("A", 75, 5),
            band("B", 65, 4),
            band("C", 55, 3),
            band("D", 50, 2),
            band("E", 45, 1),
            band("F", 0, 0),
        ],
        pass_mark: Score::from_marks(45),
        ..GradingPolicy::nigerian_five_point()
    }
}

/// The book the regrade must switch to.
pub fn new_book(version: u32) -> PolicyBook {
    PolicyBook {
        version,
        default: raised(),
        cohorts: Vec::new(),
        results: vec![ScopedPolicy {
            from: AcademicSession::new(OVERRIDE_FROM).unwrap(),
            policy: strict(),
        }],
    }
}

/// The book before it: the built-in default with the override.
pub fn old_book() -> PolicyBook {
    PolicyBook {
        default: GradingPolicy::default(),
        ..new_book(0)
    }
}

/// A record's grade and points under the new book, written out here rather than taken from
/// the core: totals rounded half up to whole marks, then the bands of the record's session.
pub fn by_hand(session_start: u16, total: Score) -> (&'static str, u8) {
    let marks = (u32::from(total.tenths()) + 5) / 10;
    match marks {
        75.. => ("A", 5),
        65..=74 => ("B", 4),
        55..=64 => ("C", 3),
        50..=54 => ("D", 2),
        45..=49 if session_start < OVERRIDE_FROM => ("E", 1),
        _ => ("F", 0),
    }
}

/// One deployment under test. Field order matters: processes are killed before the store
/// handle closes and the database and run directory go.
pub struct Site {
    pub name: &'static str,
    pub portal: Option<Proc>,
    pub workers: Vec<Proc>,
    pub store: Arc<dyn RecordStore>,
    /// The embedded deployment's file, for its queue's depths.
    pub sqlite: Option<eportal_sqlite::SqliteStore>,
    pub iso: Option<Isolation>,
    pub data_dir: PathBuf,
    pub run_dir: tempfile::TempDir,
    pub http: reqwest::Client,
    pub started: usize,
}

impl Site {
    pub async fn embedded() -> Site {
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
            http: super::client::http_client(),
            started: 0,
        }
    }

    /// Fails (never skips) naming the engine that does not answer.
    pub async fn distributed() -> Site {
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
            http: super::client::http_client(),
            started: 0,
        }
    }

    pub fn env(&self, extra: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut env = self.iso.as_ref().map(Isolation::env).unwrap_or_default();
        env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        env
    }

    /// An `eportal serve --role ROLE` process on this site, not started.
    pub fn process(&mut self, name: &str, role: &str, extra: &[(&str, &str)]) -> Proc {
        self.started += 1;
        let name = format!("{}-{name}-{}", self.name, self.started);
        let spec = procs::eportal(&name, role, free_addr(), &self.data_dir, &self.env(extra));
        Proc::new(spec, self.run_dir.path())
    }

    /// A worker started and serving.
    pub async fn start_worker(&mut self, name: &str) {
        let mut w = self.process(name, "worker", &[]);
        w.start(&self.http).await;
        self.workers.push(w);
    }

    /// A one-shot `eportal` command on this site: exit code, stdout, stderr.
    pub fn cli(&self, args: &[&str]) -> (i32, String, String) {
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

    pub fn write(&self, file: &str, text: &str) -> String {
        let path = self.run_dir.path().join(file);
        std::fs::write(&path, text).expect("write a file in the run directory");
        path.display().to_string()
    }

    pub async fn regrade(&self, id: i64) -> Regrade {
        self.store
            .regrade(id)
            .await
            .expect("the store answers")
            .expect("the regrade exists")
    }

    /// Waits until no job is waiting (ready or delayed) and checks none was dead-lettered.
    pub async fn assert_queue_drained(&self, timeout: Duration) {
        // A refresh job a worker holds is not counted as waiting by the broker.
        super::verify::wait_results_fresh(self.store.as_ref(), timeout).await;
        if let Some(iso) = &self.iso {
            return super::verify::assert_queue_drained(iso, timeout).await;
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

pub fn run_dir(case: &str) -> (tempfile::TempDir, PathBuf) {
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
pub async fn build_university(site: &mut Site, plan: &Plan) {
    semester::seed(site.store.as_ref(), plan, &super::password_hash().await).await;

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
pub async fn wait_exit(p: &mut Proc, timeout: Duration) -> ExitStatus {
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

/// Checks everything the description of `regrade_crash.rs` promises, from the store.
pub async fn verify(site: &Site, plan: &Plan, done: &Regrade) {
    let name = site.name;
    let store = site.store.as_ref();
    let book = new_book(done.to_version);
    let old = old_book();
    assert_eq!((done.from_version, done.to_version), (1, 2), "{name}");
    assert_eq!(store.active_policy_version().await.unwrap(), 2, "{name}");
    assert_eq!(
        store.active_policy().await.unwrap(),
        Some(book.clone()),
        "{name}: the active book is the raised default with the strict override kept"
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
