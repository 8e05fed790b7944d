//! `eportal audit verify`: walks the whole ledger through the store's port, a page at a
//! time, checking every entry's hash, every link to the entry before, and every signature of
//! the head against the public key of `ledger.key_file` (or `--public-key`), never a key
//! found in the database. Prints what was checked and how long it took; exits 4 naming the
//! first bad entry. Entries after the last signature are intact as a chain but not yet
//! covered by a signature: a warning, not a failure.

use crate::cli::Failure;
use crate::config::Config;
use anyhow::Context;
use eportal_core::ledger::{Problem, PublicKey, Report};
use std::process::ExitCode;
use std::time::Instant;

/// Exit code of a ledger that failed verification.
pub const TAMPERED: u8 = 4;

#[derive(Debug, clap::Subcommand)]
pub enum AuditCommand {
    /// Check the ledger's hash chain and the signatures of its head; exit 4 naming the
    /// first entry that was altered, removed or reordered.
    Verify {
        /// The ledger key's public half, 64 hex digits [default: derived from
        /// EPORTAL_LEDGER__KEY_FILE].
        #[arg(long, value_name = "HEX")]
        public_key: Option<String>,
    },
}

pub async fn run(config: Config, command: AuditCommand) -> Result<ExitCode, Failure> {
    let AuditCommand::Verify { public_key } = command;
    config.validate().map_err(Failure::Config)?;
    let key = match public_key {
        Some(hex) => PublicKey::parse_hex(&hex)
            .map_err(|e| Failure::Config(anyhow::anyhow!("--public-key: {e}")))?,
        None => {
            let path = config.ledger.key_path(&config.data_dir);
            crate::services::ledger::load_key(&path)
                .map_err(|e| Failure::Config(e.into()))?
                .public()
        }
    };
    let ports = crate::engines::connect(&config).await?;
    let started = Instant::now();
    let outcome = eportal_ports::ledger::verify(&*ports.store, key)
        .await
        .context("reading the ledger")?;
    let took = started.elapsed().as_secs_f64();
    match outcome {
        Ok(report) => {
            print_report(&report, &key, took);
            Ok(ExitCode::SUCCESS)
        }
        Err(problem) => {
            print_problem(&problem, took);
            Ok(ExitCode::from(TAMPERED))
        }
    }
}

fn print_report(r: &Report, key: &PublicKey, took: f64) {
    println!(
        "ledger: {} entries checked, {} signatures checked (key {}), in {took:.2} s",
        r.entries,
        r.signatures,
        key.id()
    );
    match r.last_signed {
        Some(last) => println!(
            "last signed entry: seq {last}; {} entries after it not yet signed",
            r.unsigned_after
        ),
        None => println!("the ledger is empty"),
    }
    if r.unsigned_after > 0 {
        println!(
            "warning: the last {} entries are intact as a chain but not yet covered by a signature (a running eportal signs the head every ledger.sign_interval_secs)",
            r.unsigned_after
        );
    }
    if r.other_keys > 0 {
        println!(
            "warning: {} signatures were made by other keys and were not trusted (does every eportal process use the same EPORTAL_LEDGER__KEY_FILE?)",
            r.other_keys
        );
    }
    println!("the ledger is intact");
}

fn print_problem(p: &Problem, took: f64) {
    println!("ledger verification FAILED after {took:.2} s");
    eprintln!("eportal: the ledger does not verify: {p}");
}
