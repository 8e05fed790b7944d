//! Reading an uploaded sheet in a short-lived child process (`eportal parse-sheet`), so that
//! nothing a file does to the reader (an allocation the spreadsheet library makes on trust,
//! an abort, a panic, a loop) can reach the worker: the child limits its own address space
//! and CPU time before it reads a byte, the parent kills it after a wall-time limit and reads
//! at most a bounded amount of its output.
//!
//! Every way the child can end other than a clean answer becomes a rejection of the sheet
//! with a reason a lecturer can act on. This module must never let a child's death become a
//! worker crash or a retry: the same file would kill the next child the same way.

use super::worker::JobFailure;
use super::Services;
use eportal_core::sheet::{ParsedSheet, RawRow, SheetFormat, SheetLimits};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One line of the child's answer, as JSON: `sheet`, then one `row` per data row, then
/// `end` (so a cut-off answer is told from a complete one); or one `rejected`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Line {
    Sheet {
        format: SheetFormat,
        header_row: usize,
        sheet_name: Option<String>,
    },
    Row(RawRow),
    End {
        rows: usize,
    },
    Rejected {
        message: String,
    },
}

/// Why a sheet was refused by the isolated reader: the message the lecturer reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection(pub String);

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

mod child;

pub use child::{run_child, ParseSheetArgs};

/// How the child ended, as far as the parent can tell.
enum Ended {
    Answered(Vec<u8>),
    TimedOut,
    TooMuchOutput,
    Died {
        signal: Option<i32>,
        code: Option<i32>,
        stderr: String,
    },
}

/// Most output a child may write: every row's three fields are short excerpts, so a
/// full sheet's answer is far below this.
fn max_output(limits: &SheetLimits) -> usize {
    limits
        .max_rows
        .saturating_mul(2048)
        .saturating_add(64 * 1024)
}

const MAX_STDERR: u64 = 4096;

impl Services {
    /// Reads a sheet in a child process under the configured limits. `Ok(Err(_))` is a sheet
    /// refused (by the reader, or because the reader died on it); `Err(_)` only when no child
    /// could be started at all (the executable is missing, the machine is out of processes).
    pub async fn parse_isolated(
        &self,
        bytes: Vec<u8>,
        limits: &SheetLimits,
    ) -> Result<Result<ParsedSheet, Rejection>, JobFailure> {
        let w = &self.config.worker;
        let program = match w
            .sheet_parser
            .as_ref()
            .filter(|p| !p.as_os_str().is_empty())
        {
            Some(p) => p.clone(),
            None => std::env::current_exe().map_err(|e| {
                JobFailure::Transient(format!("cannot find the eportal executable: {e}"))
            })?,
        };
        let child = ChildLimits {
            memory_mb: w.sheet_memory_mb,
            cpu_secs: w.sheet_cpu_secs,
            wall_secs: w.sheet_wall_secs,
        };
        read_in_child(&program, bytes, limits, &child)
            .await
            .map_err(|e| {
                JobFailure::Transient(format!(
                    "cannot start the sheet reader {}: {e}",
                    program.display()
                ))
            })
    }
}

/// The limits of one sheet-reading child.
#[derive(Debug, Clone, Copy)]
pub struct ChildLimits {
    pub memory_mb: u64,
    pub cpu_secs: u64,
    pub wall_secs: u64,
}

/// Runs `program parse-sheet` on `bytes` and tells what came of it: the rows, or why the
/// sheet is refused. `Err` only when the child could not be started or talked to.
pub async fn read_in_child(
    program: &PathBuf,
    bytes: Vec<u8>,
    limits: &SheetLimits,
    child: &ChildLimits,
) -> std::io::Result<Result<ParsedSheet, Rejection>> {
    let ended = run(
        program,
        bytes,
        limits,
        child.memory_mb,
        child.cpu_secs,
        child.wall_secs,
    )
    .await?;
    Ok(match ended {
        Ended::Answered(out) => read_answer(&out),
        Ended::TimedOut => {
            tracing::warn!(
                wall_secs = child.wall_secs,
                "sheet reader killed after the wall-time limit"
            );
            Err(time_reason(child.wall_secs))
        }
        Ended::TooMuchOutput => {
            tracing::warn!("sheet reader killed: it wrote more than any sheet needs");
            Err(damaged_reason())
        }
        Ended::Died {
            signal,
            code,
            stderr,
        } => {
            tracing::warn!(?signal, ?code, stderr = %stderr, "sheet reader died");
            Err(death_reason(
                signal,
                &stderr,
                child.memory_mb,
                child.cpu_secs,
            ))
        }
    })
}

async fn run(
    program: &PathBuf,
    input: Vec<u8>,
    limits: &SheetLimits,
    memory_mb: u64,
    cpu_secs: u64,
    wall_secs: u64,
) -> std::io::Result<Ended> {
    let mut child = tokio::process::Command::new(program)
        .arg("parse-sheet")
        .arg(format!("--max-bytes={}", limits.max_bytes))
        .arg(format!("--max-rows={}", limits.max_rows))
        .arg(format!("--memory-mb={memory_mb}"))
        .arg(format!("--cpu-secs={cpu_secs}"))
        // The allocator's own cap, beside the address-space limit the child sets itself: it
        // reserves exactly the child's memory at start and may take nothing more from the
        // system, so an allocation past the allowance fails as it would under the limit
        // (the allocator's default reservations would otherwise be taken before the limit is
        // set, and not count against it).
        .env("MIMALLOC_RESERVE_OS_MEMORY", format!("{memory_mb}MiB"))
        .env("MIMALLOC_DISALLOW_OS_ALLOC", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let mut stdin = child.stdin.take().expect("stdin is piped");
    let stdout = child.stdout.take().expect("stdout is piped");
    let stderr = child.stderr.take().expect("stderr is piped");
    // Feeding and reading run at once: a child answering before it has read everything must
    // not deadlock against a full pipe. A child that stops reading fails the write, which
    // changes nothing: its exit tells what happened.
    let feed = tokio::spawn(async move {
        let _ = stdin.write_all(&input).await;
        drop(stdin);
    });
    let max_out = max_output(limits);
    // Stderr is drained on its own: it closes only when the child ends.
    let mut errors = tokio::spawn(async move {
        let mut err = Vec::new();
        let _ = keep_head(stderr, &mut err, MAX_STDERR as usize).await;
        err
    });
    let work = async {
        let mut out = Vec::new();
        stdout
            .take(max_out as u64 + 1)
            .read_to_end(&mut out)
            .await?;
        if out.len() > max_out {
            return Ok::<_, std::io::Error>((None, out, Vec::new()));
        }
        let status = child.wait().await?;
        let err = (&mut errors).await.unwrap_or_default();
        Ok((Some(status), out, err))
    };
    let outcome = tokio::time::timeout(Duration::from_secs(wall_secs), work).await;
    feed.abort();
    errors.abort();
    let ended = match outcome {
        Err(_) => Ended::TimedOut,
        Ok(Err(e)) => return Err(e),
        Ok(Ok((None, _, _))) => Ended::TooMuchOutput,
        Ok(Ok((Some(status), out, err))) => {
            use std::os::unix::process::ExitStatusExt;
            if status.success() {
                Ended::Answered(out)
            } else {
                Ended::Died {
                    signal: status.signal(),
                    code: status.code(),
                    stderr: String::from_utf8_lossy(&err).into_owned(),
                }
            }
        }
    };
    if !matches!(ended, Ended::Answered(_) | Ended::Died { .. }) {
        // Killed, and reaped so no zombie stays behind.
        let _ = child.kill().await;
    }
    Ok(ended)
}

/// Reads a stream to its end (so the child never blocks on a full pipe), keeping only its
/// first `max` bytes.
async fn keep_head(
    mut from: impl tokio::io::AsyncRead + Unpin,
    into: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<()> {
    let mut buf = [0u8; 4096];
    loop {
        let n = from.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        let room = max.saturating_sub(into.len());
        into.extend_from_slice(&buf[..n.min(room)]);
    }
}

/// The child's answer, checked line by line: anything but a well-formed, complete answer is
/// treated as a reader that failed on the file.
fn read_answer(out: &[u8]) -> Result<ParsedSheet, Rejection> {
    let mut lines = out.split(|&b| b == b'\n').filter(|l| !l.is_empty());
    let mut next = || lines.next().map(serde_json::from_slice::<Line>);
    let (format, header_row, sheet_name) = match next() {
        Some(Ok(Line::Rejected { message })) => return Err(Rejection(message)),
        Some(Ok(Line::Sheet {
            format,
            header_row,
            sheet_name,
        })) => (format, header_row, sheet_name),
        other => {
            tracing::warn!(first = ?other.map(|r| r.map_err(|e| e.to_string())), "sheet reader answered nonsense");
            return Err(damaged_reason());
        }
    };
    let mut rows = Vec::new();
    loop {
        match next() {
            Some(Ok(Line::Row(r))) => rows.push(r),
            Some(Ok(Line::End { rows: n })) if n == rows.len() => {
                return Ok(ParsedSheet {
                    format,
                    header_row,
                    rows,
                    sheet_name,
                })
            }
            _ => {
                tracing::warn!("sheet reader's answer was cut off or malformed");
                return Err(damaged_reason());
            }
        }
    }
}

const SAVE_AGAIN: &str =
    "open it in Excel or LibreOffice, save it again as .xlsx or .csv, and upload that file";

fn time_reason(secs: u64) -> Rejection {
    Rejection(format!(
        "the workbook could not be read within the time allowed ({secs} seconds); {SAVE_AGAIN}"
    ))
}

fn damaged_reason() -> Rejection {
    Rejection(format!(
        "the workbook could not be read: the reader stopped on it unexpectedly; {SAVE_AGAIN}"
    ))
}

/// A child that died: by its signal and last words, what most likely stopped it.
fn death_reason(signal: Option<i32>, stderr: &str, memory_mb: u64, cpu_secs: u64) -> Rejection {
    const SIGABRT: i32 = 6;
    const SIGKILL: i32 = 9;
    const SIGSEGV: i32 = 11;
    const SIGXCPU: i32 = 24;
    let memory = || {
        Rejection(format!(
            "the workbook could not be read within the memory allowed ({memory_mb} MB); {SAVE_AGAIN}"
        ))
    };
    let said = |w: &str| stderr.contains(w);
    match signal {
        Some(SIGXCPU) => time_reason(cpu_secs),
        _ if said("memory allocation") || said("capacity overflow") || said("out of memory") => {
            memory()
        }
        // Without a word: the kernel's OOM killer, or the CPU hard limit; an abort or a
        // stack overflow under the address-space limit is memory too.
        Some(SIGKILL | SIGABRT | SIGSEGV) => memory(),
        _ => damaged_reason(),
    }
}
