//! Fault hooks for the tests of the worker's failure paths, compiled only into debug builds
//! (`cfg(debug_assertions)`): a release build has none of this code and ignores the variables.
//!
//! Each hook names one uploaded sheet by the SHA-256 of its bytes, so a test can make exactly
//! one job misbehave, the way a hostile or unlucky file would, and watch what the portal does:
//!
//! | variable | what processing that sheet does |
//! |---|---|
//! | `EPORTAL_FAULT_ABORT_ON_SHEET=<sha256>` | aborts the whole process (as a parser that runs out of memory does) |
//! | `EPORTAL_FAULT_PANIC_ON_SHEET=<sha256>` | panics in the worker task (as a capacity overflow does) |
//! | `EPORTAL_FAULT_FAIL_ON_SHEET=<sha256>:<n>` | fails as if the database were unavailable, the first `n` times this process handles it (`always`: every time) |
//!
//! `EPORTAL_FAULT_ABORT_ON_REGRADE` (below) does the same for one task of a regrade.
//!
//! Several sheets may be named, separated by commas. The variables are read on every job, so a
//! test can set them for one sheet while others run normally. These hooks must never be
//! reachable from a release build, nor change anything for a sheet they do not name.

use super::worker::JobFailure;

#[cfg(debug_assertions)]
pub(crate) fn before_processing(sha256: &str) -> Result<(), JobFailure> {
    use std::collections::HashMap;
    use std::sync::Mutex;

    let named = |var: &str| -> Vec<String> {
        std::env::var(var)
            .map(|v| v.split(',').map(|s| s.trim().to_string()).collect())
            .unwrap_or_default()
    };
    if named("EPORTAL_FAULT_ABORT_ON_SHEET")
        .iter()
        .any(|s| s == sha256)
    {
        eprintln!("fault hook: aborting the process on sheet {sha256}");
        std::process::abort();
    }
    if named("EPORTAL_FAULT_PANIC_ON_SHEET")
        .iter()
        .any(|s| s == sha256)
    {
        panic!("fault hook: panicking on sheet {sha256}");
    }
    static SEEN: Mutex<Option<HashMap<String, u64>>> = Mutex::new(None);
    for entry in named("EPORTAL_FAULT_FAIL_ON_SHEET") {
        let Some((sha, times)) = entry.split_once(':') else {
            continue;
        };
        if sha != sha256 {
            continue;
        }
        let times = match times {
            "always" => u64::MAX,
            n => n.parse().unwrap_or(0),
        };
        let mut seen = SEEN.lock().unwrap_or_else(|p| p.into_inner());
        let count = seen.get_or_insert_with(HashMap::new).entry(sha.to_string());
        let count = count.or_insert(0);
        *count += 1;
        if *count <= times {
            return Err(JobFailure::Transient(format!(
                "the database is unavailable (fault hook, failure {count} of sheet {sha})"
            )));
        }
    }
    Ok(())
}

#[cfg(not(debug_assertions))]
#[inline(always)]
pub(crate) fn before_processing(_sha256: &str) -> Result<(), JobFailure> {
    Ok(())
}

/// `EPORTAL_FAULT_ABORT_ON_REGRADE=<phase>:<part>` (`map:3`, `reduce:0`, `commit:0`; several
/// separated by commas): the process aborts after doing that regrade task's work and before
/// storing it, as a worker killed mid-task does.
#[cfg(debug_assertions)]
pub(crate) fn before_regrade_write(phase: &str, part: u32) {
    let wanted = format!("{phase}:{part}");
    let named = std::env::var("EPORTAL_FAULT_ABORT_ON_REGRADE").unwrap_or_default();
    if named.split(',').any(|s| s.trim() == wanted) {
        eprintln!("fault hook: aborting the process in regrade task {wanted}");
        std::process::abort();
    }
}

#[cfg(not(debug_assertions))]
#[inline(always)]
pub(crate) fn before_regrade_write(_phase: &str, _part: u32) {}
