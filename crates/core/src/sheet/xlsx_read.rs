//! Reading an XLSX workbook (Excel, LibreOffice): the first worksheet with a recognisable
//! header, streamed cell by cell, numbers turned into the text a lecturer typed.
//!
//! This module must never let a small upload unpack into unbounded memory: declared sizes
//! are checked before anything is decompressed, then `zip_scan` unpacks every part through a
//! fixed buffer and measures it against the hard limits, all before the spreadsheet library
//! (which trusts counts it reads, such as a shared-strings `uniqueCount`) opens the file.
//! It must never keep a float: a numeric cell becomes text once, here, with at most one decimal.

use super::parse::{RawRow, SheetError, SheetLimits};
use super::table::{Collector, Flow, Line};
use calamine::{DataRef, Reader, SheetType, Xlsx};
use std::io::Cursor;

/// Cells right of this column are never a score sheet's columns; ignoring them bounds a line.
const MAX_COLUMNS: u32 = 256;

pub(super) struct Found {
    pub sheet: String,
    pub header_row: usize,
    pub rows: Vec<RawRow>,
}

pub(super) fn read(bytes: &[u8], limits: &SheetLimits) -> Result<Found, SheetError> {
    let max_rows = limits.max_rows;
    check_container(bytes, limits.max_unpacked())?;
    super::zip_scan::scan(bytes, limits)?;
    let mut book = Xlsx::new(Cursor::new(bytes)).map_err(|e| unreadable(&e))?;
    let sheets: Vec<String> = book
        .sheets_metadata()
        .iter()
        .filter(|s| s.typ == SheetType::WorkSheet)
        .map(|s| s.name.clone())
        .collect();
    // The first worksheet with a header is the score sheet; failing that, the one that came
    // closest explains what is missing.
    let mut best: Option<(String, Collector)> = None;
    for name in sheets {
        let collector = read_sheet(&mut book, &name, max_rows)?;
        let found = collector.header_found();
        if found
            || best
                .as_ref()
                .is_none_or(|(_, b)| collector.recognised() > b.recognised())
        {
            best = Some((name, collector));
        }
        if found {
            break;
        }
    }
    let (sheet, collector) = best.ok_or(SheetError::Empty)?;
    let (header_row, rows) = collector.finish()?;
    Ok(Found {
        sheet,
        header_row,
        rows,
    })
}

/// Refuses what is not a workbook, and workbooks whose parts would unpack too large,
/// before any part is decompressed.
fn check_container(bytes: &[u8], max_unpacked: u64) -> Result<(), SheetError> {
    let zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| SheetError::Unreadable {
        detail: format!("the ZIP container is damaged: {e}"),
    })?;
    let names: Vec<String> = zip
        .file_names()
        .filter_map(Result::ok)
        .map(|n| n.into_owned())
        .collect();
    let has = |prefix: &str| names.iter().any(|n| n.starts_with(prefix));
    if !has("xl/") {
        let what = if names.iter().any(|n| n == "mimetype") && has("content.xml") {
            "an OpenDocument file (.ods or .odt)"
        } else if has("word/") {
            "a Word document"
        } else if has("ppt/") {
            "a PowerPoint presentation"
        } else {
            "a ZIP archive"
        };
        return Err(SheetError::NotASpreadsheet { found: what.into() });
    }
    let mut total: u64 = 0;
    for i in 0..zip.len() {
        let size = zip.by_index_data(i).map_or(0, |f| f.size());
        total = total.saturating_add(size);
    }
    if total > max_unpacked {
        return Err(SheetError::UnpacksTooLarge {
            bytes: total,
            max: max_unpacked,
        });
    }
    Ok(())
}

fn unreadable(e: &calamine::XlsxError) -> SheetError {
    SheetError::Unreadable {
        detail: e.to_string(),
    }
}

fn read_sheet(
    book: &mut Xlsx<Cursor<&[u8]>>,
    name: &str,
    max_rows: usize,
) -> Result<Collector, SheetError> {
    let mut collector = Collector::new(max_rows);
    let mut cells = book
        .worksheet_cells_reader(name)
        .map_err(|e| unreadable(&e))?;
    let mut line = Line::default();
    while let Some(cell) = cells.next_cell().map_err(|e| unreadable(&e))? {
        let (r, c) = cell.get_position();
        let row = r as usize + 1;
        if row != line.row {
            if collector.push(std::mem::take(&mut line)) == Flow::Stop {
                return Ok(collector);
            }
            line.row = row;
        }
        if c >= MAX_COLUMNS {
            continue;
        }
        let text = cell_text(cell.get_value());
        let text = text.trim();
        if !text.is_empty() {
            line.cells.push((c as usize, text.to_string()));
        }
    }
    collector.push(line);
    Ok(collector)
}

/// The text of a cell as the lecturer sees it. Numbers with at most one decimal become
/// exactly that text ("67.5", "12"); a number with more decimals keeps them all, so the
/// row is refused for it rather than silently rounded.
fn cell_text(v: &DataRef<'_>) -> String {
    match v {
        DataRef::Int(i) => i.to_string(),
        DataRef::Float(f) => number_text(*f),
        DataRef::String(s) | DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => s.clone(),
        DataRef::SharedString(s) => (*s).to_string(),
        DataRef::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
        // A date is never a score or a matric number; the text makes the row's error say so.
        DataRef::DateTime(_) => "(a date)".to_string(),
        DataRef::Error(e) => e.to_string(),
        DataRef::Empty => String::new(),
    }
}

pub(super) fn number_text(f: f64) -> String {
    let tenths = (f * 10.0).round();
    // Spreadsheet arithmetic leaves noise such as 67.49999999999999; anything that close
    // to a tenth is that tenth. Beyond 2^53 floats are not exact integers any more.
    if f.is_finite() && tenths.abs() < 9.0e15 && (f * 10.0 - tenths).abs() < 1e-6 {
        let t = tenths as i64;
        let sign = if t < 0 { "-" } else { "" };
        let (whole, frac) = (t.unsigned_abs() / 10, t.unsigned_abs() % 10);
        if frac == 0 {
            format!("{sign}{whole}")
        } else {
            format!("{sign}{whole}.{frac}")
        }
    } else {
        format!("{f}")
    }
}

#[cfg(test)]
mod tests {
    use super::number_text;

    #[test]
    fn numbers_become_the_text_typed() {
        assert_eq!(number_text(12.0), "12");
        assert_eq!(number_text(67.5), "67.5");
        assert_eq!(number_text(67.49999999999999), "67.5");
        assert_eq!(number_text(0.1 + 0.2), "0.3");
        assert_eq!(number_text(190401023.0), "190401023");
        assert_eq!(number_text(-5.0), "-5");
        assert_eq!(number_text(-0.5), "-0.5");
        assert_eq!(number_text(67.25), "67.25");
        assert_eq!(number_text(f64::NAN), "NaN");
    }
}
