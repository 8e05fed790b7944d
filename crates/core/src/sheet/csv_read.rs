//! Reading a CSV sheet: delimiter sniffed (',' — or ';' and tab, which Excel writes in some
//! locales), row numbers kept as the line numbers Excel would show.
//!
//! This module must never turn one delimiter's failure into a wrong reading: a delimiter is
//! used only if the header is found with it.

use super::parse::{RawRow, SheetError, SheetLimits};
use super::table::{Collector, Flow, Line, HEADER_SCAN};

const DELIMITERS: [u8; 3] = [b',', b';', b'\t'];

pub(super) fn read(text: &str, limits: &SheetLimits) -> Result<(usize, Vec<RawRow>), SheetError> {
    let mut best: Option<Collector> = None;
    for d in delimiter_order(text) {
        // A limit passed under any delimiter refuses the file: a wrong delimiter only makes
        // fewer, longer cells, and no honest line is longer than a cell may be.
        let collector = read_with(text, d, limits)?;
        if collector.header_found() {
            return collector.finish();
        }
        if best
            .as_ref()
            .is_none_or(|b| collector.recognised() > b.recognised())
        {
            best = Some(collector);
        }
    }
    best.map_or(Err(SheetError::Empty), Collector::finish)
}

/// The likeliest delimiter first: the one appearing most in the first lines.
fn delimiter_order(text: &str) -> Vec<u8> {
    let head: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(HEADER_SCAN)
        .collect();
    let mut ds = DELIMITERS.to_vec();
    ds.sort_by_key(|d| {
        std::cmp::Reverse(
            head.iter()
                .map(|l| l.bytes().filter(|b| b == d).count())
                .sum::<usize>(),
        )
    });
    ds
}

fn read_with(text: &str, delimiter: u8, limits: &SheetLimits) -> Result<Collector, SheetError> {
    let lines = LineStarts::of(text);
    if lines.starts.len() > limits.max_lines {
        return Err(SheetError::TooManyLines {
            max: limits.max_lines,
        });
    }
    let mut collector = Collector::new(limits.max_rows);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
    let mut record = csv::StringRecord::new();
    let mut spanned = 0;
    // The text is valid UTF-8 and the reader is flexible, so reading cannot fail part-way;
    // should it ever, the lines read so far are all that is judged.
    while let Ok(true) = reader.read_record(&mut record) {
        // A quoted cell with line breaks is one row in Excel, however many lines it spans.
        let row = record
            .position()
            .map_or(0, |p| lines.line_at(p.byte() as usize))
            .saturating_sub(spanned);
        spanned += record.iter().map(line_breaks).sum::<usize>();
        check_record(&record, row, limits)?;
        let cells = record
            .iter()
            .enumerate()
            .map(|(c, t)| (c, t.trim().to_string()))
            .filter(|(_, t)| !t.is_empty())
            .collect();
        if collector.push(Line { row, cells }) == Flow::Stop {
            break;
        }
    }
    Ok(collector)
}

/// Columns and cell length of one CSV line against the limits.
fn check_record(
    record: &csv::StringRecord,
    row: usize,
    limits: &SheetLimits,
) -> Result<(), SheetError> {
    if record.len() > limits.max_columns {
        return Err(SheetError::TooManyColumns {
            row,
            column: record.len(),
            max: limits.max_columns,
        });
    }
    for cell in record.iter() {
        // Bytes bound characters from above: count characters only for a long cell.
        if cell.len() > limits.max_cell_chars {
            let chars = cell.chars().count();
            if chars > limits.max_cell_chars {
                return Err(SheetError::CellTooLong {
                    row: Some(row),
                    chars: chars as u64,
                    at_least: false,
                    max: limits.max_cell_chars,
                });
            }
        }
    }
    Ok(())
}

fn line_breaks(cell: &str) -> usize {
    let b = cell.as_bytes();
    (0..b.len())
        .filter(|&i| b[i] == b'\n' || (b[i] == b'\r' && b.get(i + 1) != Some(&b'\n')))
        .count()
}

/// Where each line starts, to turn a record's byte offset into the row number Excel shows.
/// The CSV reader's own line count skips blank lines; Excel shows them as empty rows.
/// Lines end in "\n", "\r\n" or a lone "\r" (Excel for Mac's "CSV (Macintosh)").
struct LineStarts<'a> {
    text: &'a [u8],
    starts: Vec<usize>,
}

impl<'a> LineStarts<'a> {
    fn of(text: &'a str) -> Self {
        let b = text.as_bytes();
        let mut starts = vec![0];
        for (i, &c) in b.iter().enumerate() {
            if c == b'\n' || (c == b'\r' && b.get(i + 1) != Some(&b'\n')) {
                starts.push(i + 1);
            }
        }
        LineStarts { text: b, starts }
    }

    /// The 1-based line of the first character of a record starting at `byte`; line breaks
    /// before it belong to blank lines the reader passed over.
    fn line_at(&self, byte: usize) -> usize {
        let mut at = byte.min(self.text.len());
        while at < self.text.len() && matches!(self.text[at], b'\r' | b'\n') {
            at += 1;
        }
        self.starts.partition_point(|&s| s <= at)
    }
}
