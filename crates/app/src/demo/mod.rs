//! `eportal demo`: builds a realistic university in a data directory, runs every score sheet
//! through the real pipeline (upload → queue → workers → approval → publication), prints how
//! long each phase took, and serves the portal. A directory that already holds a finished
//! demo is served at once; `--reset` deletes only that directory's eportal files first. With
//! `EPORTAL_DATABASE_URL` (and the queue and cache URLs) the same demo runs on the
//! distributed engines, into a database that must hold no university yet.
//!
//! Demo shortcut: argon2id costs tens of milliseconds per hash, so the demo hashes its one
//! password once and gives that PHC string to every demo account. Real accounts are created
//! by `eportal import` with a salt of their own. This module must never write scores or
//! workflow states around the services, or a demo would prove nothing.

mod catalogue;
mod names;
mod pipeline;
mod report;
mod sheets;
mod university;

use crate::cli::Failure;
use crate::config::{Config, DatabaseKind};
use crate::services::auth::hash_password_blocking;
use anyhow::Context;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The seed of every demo: the same size gives the same university.
const SEED: u64 = 0x0E90_27A1;

#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {
    /// Number of students.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..=500_000))]
    pub students: u32,
    /// Address to serve on (port 0 picks a free port) [default: EPORTAL_LISTEN, else
    /// 127.0.0.1:8080].
    #[arg(long, value_name = "ADDR", value_parser = crate::config_names::parse_listen)]
    pub listen: Option<SocketAddr>,
    /// The password of every demo account.
    #[arg(long, default_value = "demo1234")]
    pub password: String,
    /// Delete the demo directory's eportal files and build the demo again.
    #[arg(long)]
    pub reset: bool,
}

/// The embedded deployment's database file in the data directory.
const SQLITE_FILE: &str = "eportal.sqlite";

/// The files of an embedded deployment in a data directory (nothing else is touched).
const EPORTAL_FILES: &[&str] = &[
    SQLITE_FILE,
    "eportal.sqlite-wal",
    "eportal.sqlite-shm",
    report::MARKER,
];

fn reset(dir: &Path) -> anyhow::Result<()> {
    for f in EPORTAL_FILES {
        match std::fs::remove_file(dir.join(f)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(e).with_context(|| format!("cannot delete {}", dir.join(f).display()))
            }
        }
    }
    match std::fs::remove_dir_all(dir.join("sheets")) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("cannot delete {}", dir.join("sheets").display()))
        }
        _ => Ok(()),
    }
}

/// Runs the demo until Ctrl-C or SIGTERM.
pub async fn run(mut config: Config, data_dir_given: bool, args: DemoArgs) -> Result<(), Failure> {
    if !data_dir_given && config.data_dir == Config::default().data_dir {
        config.data_dir = PathBuf::from("data/demo");
    }
    if args.password.chars().count() < 8 {
        return Err(Failure::Config(anyhow::anyhow!(
            "--password must be at least 8 characters"
        )));
    }
    config.role = crate::config::ProcessRole::All;
    if let Some(listen) = args.listen {
        config.listen = listen;
    }
    let listen = config.listen;
    config.validate().map_err(Failure::Config)?;
    let dir = config.data_dir.clone();
    // The embedded deployment keeps everything in the data directory, so the directory
    // alone says whether a demo is there; other databases are asked once connected.
    let embedded = matches!(
        config.database().map_err(Failure::Config)?,
        DatabaseKind::Sqlite(path) if Path::new(&path) == dir.join(SQLITE_FILE)
    );
    if args.reset {
        if !embedded {
            return Err(Failure::Config(anyhow::anyhow!(
                "--reset deletes only a demo kept in the data directory's SQLite file; with EPORTAL_DATABASE_URL set, drop and recreate that database instead"
            )));
        }
        reset(&dir)?;
    }
    let existing = report::load(&dir)?;
    if embedded && existing.is_none() && dir.join(SQLITE_FILE).exists() {
        return Err(Failure::Runtime(anyhow::anyhow!(
            "{} holds an eportal database that is not a finished demo; run eportal demo --reset to rebuild it there, or choose another --data-dir",
            dir.display()
        )));
    }
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("--listen: cannot listen on {listen}"))?;
    let started = Instant::now();
    let app = crate::cli::build(config).await?;
    // `/readyz` answers `starting` while the university is built: the portal answers, but
    // with nobody's results yet.
    app.services.startup.hold();
    let running = app.start(Some(listener)).await?;
    let services = running.services.clone();
    let addr = running.addr.context("the demo runs the portal")?;
    if existing.is_none()
        && !embedded
        && services
            .ports
            .store
            .institution()
            .await
            .map_err(anyhow::Error::from)?
            .is_some()
    {
        running.shutdown().await;
        return Err(Failure::Runtime(anyhow::anyhow!(
            "the configured database already holds a university; eportal demo builds its own in an empty database"
        )));
    }
    match existing {
        Some(summary) => {
            println!(
                "eportal demo: {} ({} students), reused from {}",
                summary.institution,
                summary.students,
                dir.display()
            );
            report::print_accounts(&summary, None);
        }
        None => {
            let summary = build(&services, &args, started).await?;
            report::save(&dir, &summary)?;
            report::print_accounts(&summary, Some(&args.password));
        }
    }
    services.startup.mark_ready();
    println!(
        "ready after {:.2} s; eportal listening on http://{addr} (Ctrl-C stops it)",
        started.elapsed().as_secs_f64()
    );
    println!("sign in with a browser at http://{addr}/login");
    running.until_signalled().await;
    Ok(())
}

/// Generates the university and runs it through the pipeline, printing each phase.
async fn build(
    services: &crate::services::Services,
    args: &DemoArgs,
    started: Instant,
) -> anyhow::Result<report::Summary> {
    let n = args.students as usize;
    let t = Instant::now();
    let password = args.password.clone();
    let (u, phc) = tokio::task::spawn_blocking(move || {
        (
            university::generate(SEED, n),
            hash_password_blocking(&password),
        )
    })
    .await
    .context("generating the demo university")?;
    let generated = t.elapsed();
    println!(
        "eportal demo: {}: {} faculties, {} departments, {} courses, {} staff, {} students",
        u.institution.name,
        u.faculties.len(),
        u.departments.len(),
        u.courses.len(),
        u.staff.len(),
        u.students.len()
    );
    let mut phases = vec![report::Phase {
        name: "generate",
        took: generated,
        records: u.students.len() as u64,
        unit: "students",
    }];
    let t = Instant::now();
    let records = pipeline::seed(services, &u, &phc).await?;
    phases.push(report::Phase {
        name: "seed",
        took: t.elapsed(),
        records,
        unit: "records",
    });
    let t = Instant::now();
    let (sheets, bytes, planted) = pipeline::upload(services, &u, SEED).await?;
    phases.push(report::Phase {
        name: "upload",
        took: t.elapsed(),
        records: sheets.len() as u64,
        unit: "sheets",
    });
    // Workers have been taking sheets since the first upload; this waits for the rest.
    let timeout = Duration::from_secs(120 + n as u64 / 50);
    let processed = pipeline::wait_processed(services, &sheets, timeout).await?;
    phases.push(report::Phase {
        name: "process",
        took: t.elapsed(),
        records: processed.rows,
        unit: "rows",
    });
    let t = Instant::now();
    let steps = pipeline::approve_and_publish(services, &u, &sheets).await?;
    phases.push(report::Phase {
        name: "approve",
        took: t.elapsed(),
        records: steps,
        unit: "steps",
    });
    // A fresh demo verifies fully signed: sign the head its build left.
    let signed = services
        .sign_ledger_head()
        .await
        .context("signing the ledger's head")?;
    report::print_phases(&phases, started.elapsed());
    if let Some(s) = signed {
        println!("ledger: {} entries, head signed", s.seq);
    }
    println!(
        "score sheets: {} uploaded ({} KiB), {} rows: {} accepted, {} refused with a row-level reason ({} mistakes were planted on purpose)",
        sheets.len(),
        bytes / 1024,
        processed.rows,
        processed.accepted,
        processed.rejected,
        planted
    );
    if processed.unusable > 0 {
        println!(
            "warning: {} sheets were not processed (see their status)",
            processed.unusable
        );
    }
    Ok(report::Summary {
        institution: u.institution.name.clone(),
        students: u.students.len(),
        courses: u.courses.len(),
        accounts: report::accounts(services, &u).await,
    })
}
