//! The command line: `serve`, `migrate`, `import`, `regrade`, `demo` and `audit verify`. Each command
//! loads the layered configuration (file → `EPORTAL_*` variables → flags), then calls into
//! the library.
//!
//! Exit codes a script can rely on: 0 success, 1 a runtime failure (an engine unreachable, a
//! file unreadable), 2 a configuration or usage error (the message names the setting), 3 an
//! import that saved its good rows but refused some, 4 a ledger that failed `audit verify`.
//! This module must never print a secret: URLs are shown redacted and passwords only where
//! the demo was asked to use them.

use crate::config::{redact, Config, DatabaseKind, ProcessRole};
use crate::demo::{self, DemoArgs};
use crate::services::import::ImportKind;
use crate::App;
use clap::{Parser, Subcommand};
use eportal_core::PolicyScope;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "eportal",
    version,
    about = "A resilient university e-Portal and exam-records pipeline",
    after_help = "Configuration: built-in defaults, then --config FILE (or EPORTAL_CONFIG), then EPORTAL_* variables (EPORTAL_WORKER__LEASE_MS=2000), then flags.\nExit codes: 0 ok, 1 runtime failure, 2 configuration or usage error, 3 import finished with refused rows, 4 the ledger failed audit verify."
)]
pub struct Cli {
    /// TOML configuration file.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Where the SQLite file and uploaded sheets live (overrides EPORTAL_DATA_DIR).
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the portal and/or the workers until Ctrl-C or SIGTERM.
    Serve {
        /// portal (HTTP + outbox relay), worker (queue workers) or all.
        #[arg(long, value_enum)]
        role: Option<ProcessRole>,
        /// Address to listen on, e.g. 0.0.0.0:8080 or localhost:8080 (port 0 picks a free port).
        #[arg(long, value_name = "ADDR", value_parser = crate::config_names::parse_listen)]
        listen: Option<SocketAddr>,
    },
    /// Create or upgrade the database schema, then exit.
    Migrate,
    /// Import a directory file (CSV), or the institution or policy (TOML/JSON).
    /// Formats: docs/import.md.
    Import {
        /// What the file holds.
        #[arg(value_enum)]
        kind: ImportKind,
        /// The file to import.
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// For a policy: whom it is for — `default` (the institution), `cohort:2025/2026`
        /// (students admitted from that session on) or `results:2025/2026` (results from
        /// that session on). A new policy is switched to by a regrade (see `regrade`).
        #[arg(long, value_name = "SCOPE", default_value = "default", value_parser = PolicyScope::parse)]
        scope: PolicyScope,
    },
    /// Change a grading policy and follow the regrade that switches to it (run by the
    /// workers), follow the latest regrade, or --dry-run: what a change would do.
    Regrade(crate::regrade_cli::RegradeArgs),
    /// Build a demo university, process its score sheets, and serve it.
    Demo(DemoArgs),
    /// Check the records: `audit verify` walks the tamper-evident ledger.
    Audit {
        #[command(subcommand)]
        command: crate::audit::AuditCommand,
    },
    /// Internal: read one score sheet from stdin under memory and CPU limits, answer on
    /// stdout (run by the workers, one child process per sheet).
    #[command(hide = true)]
    ParseSheet(crate::services::isolate::ParseSheetArgs),
}

/// How a command failed, which decides the exit code.
pub enum Failure {
    /// A setting is wrong: exit 2.
    Config(anyhow::Error),
    /// Something went wrong while running: exit 1.
    Runtime(anyhow::Error),
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Failure::Runtime(e)
    }
}

/// Tasks a runtime thread runs between two looks for new network events (tokio's default is
/// 61). Under overload, looking often lets connections that just became ready go ahead of
/// those already waiting, and a few wait far longer than the rest; looking once a round of
/// the ready connections serves them in turn. Measured with `scripts/bench-results-day`'s
/// overload load (1,024 connections, 2 cores): p99 62–65 ms at 61, 41–49 ms at 1024, p90
/// 50–56 ms against 33–38 ms; steady reads (256 connections) alike within the machine's noise.
const EVENT_INTERVAL: u32 = 1024;

/// Parses the command line, runs the command on a fresh runtime, and returns the exit code.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    if let Command::ParseSheet(args) = &cli.command {
        // No runtime, no configuration, no logging: a small process that limits itself first.
        return crate::services::isolate::run_child(args);
    }
    if !matches!(cli.command, Command::Serve { .. }) && std::env::var_os("RUST_LOG").is_none() {
        // One-shot commands and the demo report on stdout; a log line per sheet or per
        // workflow step would bury that. Set before any thread exists, and RUST_LOG wins.
        std::env::set_var("RUST_LOG", "warn");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .event_interval(EVENT_INTERVAL)
        .build();
    let runtime = match runtime {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("eportal: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let outcome = runtime.block_on(dispatch(cli));
    // Background tasks (cache warm-up after publishing) must not hold the exit.
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    match outcome {
        Ok(code) => code,
        Err(Failure::Config(e)) => {
            eprintln!("eportal: configuration error: {e:#}");
            ExitCode::from(2)
        }
        Err(Failure::Runtime(e)) => {
            eprintln!("eportal: error: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// The layered configuration with the global flags applied.
pub fn load_config(cli: &Cli) -> Result<Config, Failure> {
    let mut config = Config::load(cli.config.as_deref()).map_err(Failure::Config)?;
    if let Some(dir) = &cli.data_dir {
        config.data_dir = dir.clone();
    }
    Ok(config)
}

async fn dispatch(cli: Cli) -> Result<ExitCode, Failure> {
    let mut config = load_config(&cli)?;
    crate::telemetry::init_tracing(config.log_format);
    match cli.command {
        Command::Serve { role, listen } => {
            if let Some(r) = role {
                config.role = r;
            }
            if let Some(l) = listen {
                config.listen = l;
            }
            config.validate().map_err(Failure::Config)?;
            // A connection cap the open-file limit cannot honour is a setting to fix.
            let open_files = crate::http::serve::raise_open_file_limit();
            crate::http::serve::connection_cap(&config.limits, open_files)
                .map_err(Failure::Config)?;
            serve(config).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate => {
            let shown = describe_database(&config).map_err(Failure::Config)?;
            build(config).await?;
            println!("the database ({shown}) is up to date");
            Ok(ExitCode::SUCCESS)
        }
        Command::Import { kind, file, scope } => import(config, kind, file, scope).await,
        Command::Regrade(args) => crate::regrade_cli::run(config, args).await,
        Command::Demo(args) => {
            demo::run(config, cli.data_dir.is_some(), args).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Audit { command } => crate::audit::run(config, command).await,
        Command::ParseSheet(args) => Ok(crate::services::isolate::run_child(&args)),
    }
}

/// Connects the engines (migrating the database).
pub async fn build(config: Config) -> anyhow::Result<App> {
    App::build(config).await
}

fn describe_database(config: &Config) -> anyhow::Result<String> {
    Ok(match config.database()? {
        DatabaseKind::Sqlite(path) => format!("SQLite at {path}"),
        DatabaseKind::Postgres(url) => format!("PostgreSQL at {}", redact(&url)),
    })
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let role = config.role;
    let app = build(config).await?;
    let running = app.start(None).await?;
    match running.addr {
        Some(addr) => println!(
            "eportal listening on http://{addr} (role {})",
            role_name(role)
        ),
        None => println!("eportal workers running (role {})", role_name(role)),
    }
    if let Some(addr) = running.metrics_addr {
        println!("eportal metrics on http://{addr}/metrics");
    }
    running.until_signalled().await;
    Ok(())
}

fn role_name(role: ProcessRole) -> &'static str {
    match role {
        ProcessRole::Portal => "portal",
        ProcessRole::Worker => "worker",
        ProcessRole::All => "all",
    }
}

async fn import(
    config: Config,
    kind: ImportKind,
    file: PathBuf,
    scope: PolicyScope,
) -> Result<ExitCode, Failure> {
    let bytes =
        std::fs::read(&file).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
    let app = build(config).await?;
    let report = app
        .services
        .import_scoped(kind, &bytes, scope, "command line")
        .await
        .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    if !report.ignored_columns.is_empty() {
        eprintln!(
            "{}: ignored columns that are not part of a {kind} file: {}",
            file.display(),
            report.ignored_columns.join(", ")
        );
    }
    for problem in &report.rejected {
        eprintln!("{}: {problem}", file.display());
    }
    let accounts = if report.accounts > 0 {
        let s = if report.accounts == 1 { "" } else { "s" };
        format!(" ({} sign-in account{s})", report.accounts)
    } else {
        String::new()
    };
    println!(
        "{kind}: imported {}, rejected {}{accounts}",
        report.imported,
        report.rejected.len()
    );
    if let Some(r) = &report.regrade {
        match r.status {
            eportal_ports::RegradeStatus::Done => println!(
                "grading policy version {} is active (no scores to regrade)",
                r.to_version
            ),
            _ => println!(
                "grading policy version {} is waiting for regrade {}, which the workers run; \
                 follow it with: eportal regrade",
                r.to_version, r.id
            ),
        }
    }
    Ok(if report.rejected.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn global_flags_work_after_the_subcommand() {
        let cli = Cli::try_parse_from(["eportal", "demo", "--students", "300", "--data-dir", "x"])
            .unwrap();
        assert_eq!(cli.data_dir, Some(PathBuf::from("x")));
        match cli.command {
            Command::Demo(a) => assert_eq!(a.students, 300),
            other => panic!("parsed as {other:?}"),
        }
    }
}
