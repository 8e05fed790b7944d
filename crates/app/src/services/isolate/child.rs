//! The child side of the isolated sheet reader: `eportal parse-sheet`. It lowers its own
//! address-space and CPU-time limits before reading a byte, reads the sheet on stdin, and
//! answers on stdout as JSON lines (see `Line`).
//!
//! It must never start a runtime, read configuration or log: it is a small process whose only
//! job is to read one untrusted file and die alone if the file kills it.

use super::Line;
use eportal_core::sheet::{self, ParsedSheet, SheetLimits};
use std::io::{Read, Write};
use std::process::ExitCode;

/// The arguments of the hidden `eportal parse-sheet` command (set by the parent).
#[derive(Debug, Clone, clap::Args)]
pub struct ParseSheetArgs {
    #[arg(long)]
    pub max_bytes: usize,
    #[arg(long)]
    pub max_rows: usize,
    #[arg(long)]
    pub memory_mb: u64,
    #[arg(long)]
    pub cpu_secs: u64,
}

/// The child: limits itself, reads the sheet on stdin, answers on stdout. Exit 0 whenever an
/// answer was written (a refused sheet is an answer); 1 if it could not even set its limits.
pub fn run_child(args: &ParseSheetArgs) -> ExitCode {
    // Never above a hard limit the process was started with (lowering is always allowed).
    let lower = |resource: rlimit::Resource, soft: u64, hard: u64| {
        let (_, current_hard) = rlimit::getrlimit(resource)?;
        rlimit::setrlimit(resource, soft.min(current_hard), hard.min(current_hard))
    };
    let memory = args.memory_mb.saturating_mul(1024 * 1024);
    let limited = lower(rlimit::Resource::AS, memory, memory).and_then(|()| {
        // SIGXCPU at the soft limit, SIGKILL a second later should it be ignored.
        lower(
            rlimit::Resource::CPU,
            args.cpu_secs,
            args.cpu_secs.saturating_add(1),
        )
    });
    if let Err(e) = limited {
        eprintln!("eportal parse-sheet: cannot set the resource limits: {e}");
        return ExitCode::from(1);
    }
    let mut bytes = Vec::new();
    let read = std::io::stdin()
        .lock()
        .take(args.max_bytes as u64 + 1)
        .read_to_end(&mut bytes);
    if let Err(e) = read {
        eprintln!("eportal parse-sheet: cannot read the sheet on stdin: {e}");
        return ExitCode::from(1);
    }
    let limits = SheetLimits {
        max_bytes: args.max_bytes,
        max_rows: args.max_rows,
        ..SheetLimits::default()
    };
    let out = std::io::stdout();
    let mut out = std::io::BufWriter::new(out.lock());
    let written = match sheet::parse(&bytes, &limits) {
        Err(e) => write_line(
            &mut out,
            &Line::Rejected {
                message: e.to_string(),
            },
        ),
        Ok(parsed) => write_sheet(&mut out, parsed),
    };
    match written.and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("eportal parse-sheet: cannot write the answer: {e}");
            ExitCode::from(1)
        }
    }
}

fn write_sheet(out: &mut impl Write, parsed: ParsedSheet) -> std::io::Result<()> {
    write_line(
        out,
        &Line::Sheet {
            format: parsed.format,
            header_row: parsed.header_row,
            sheet_name: parsed.sheet_name,
        },
    )?;
    let rows = parsed.rows.len();
    for row in parsed.rows {
        write_line(out, &Line::Row(row))?;
    }
    write_line(out, &Line::End { rows })
}

fn write_line(out: &mut impl Write, line: &Line) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, line)?;
    out.write_all(b"\n")
}
