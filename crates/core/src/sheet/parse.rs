//! Reading a sheet's bytes into rows: the format told from the bytes, the header found by
//! name, each data row kept as the text the lecturer wrote, with its spreadsheet row number.
//!
//! This module judges nothing about students or scores (that is `validate`), and must never
//! panic or use unbounded memory on any input: uploads are untrusted bytes. A file it cannot
//! use is refused as a whole, with a `SheetError` whose message says what to do.

use super::header::Column;
use super::{csv_read, detect, xlsx_read};
use crate::domain::MatricNo;
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SheetFormat {
    Csv,
    Xlsx,
}

/// Hard limits of one sheet, checked while reading and before the spreadsheet library
/// allocates anything for what a file declares. The defaults fit a 5000-row score sheet with
/// room to spare; exceeding any of them refuses the file as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SheetLimits {
    /// Size of the uploaded file.
    pub max_bytes: usize,
    /// Data rows (students) in one sheet.
    pub max_rows: usize,
    /// Unpacked size of any one part of a workbook (the total is `max_unpacked()`).
    pub max_part_bytes: u64,
    /// Rows of any kind in one worksheet or CSV file: titles, blank and template rows too.
    pub max_lines: usize,
    /// Columns: the rightmost cell of a workbook, or the cells of one CSV line.
    pub max_columns: usize,
    /// Cells written in one workbook, empty ones included.
    pub max_cells: usize,
    /// Characters in one cell (Excel's own limit is 32,767).
    pub max_cell_chars: usize,
    /// Distinct texts in a workbook's shared-strings table, counted and as declared.
    pub max_shared_strings: usize,
    /// Characters in all shared strings together.
    pub max_shared_string_chars: usize,
    /// Worksheets in one workbook.
    pub max_worksheets: usize,
    /// How deeply the XML of any part may nest (Excel writes fewer than 10 levels).
    pub max_xml_depth: usize,
}

impl Default for SheetLimits {
    fn default() -> Self {
        SheetLimits {
            max_bytes: 5 * 1024 * 1024,
            max_rows: 5000,
            max_part_bytes: 32 * 1024 * 1024,
            max_lines: 20_000,
            max_columns: 1024,
            max_cells: 1_000_000,
            max_cell_chars: 32_767,
            max_shared_strings: 200_000,
            max_shared_string_chars: 16 * 1024 * 1024,
            max_worksheets: 100,
            max_xml_depth: 64,
        }
    }
}

impl SheetLimits {
    /// How large a workbook's parts may be once unpacked. XML compresses about tenfold;
    /// a workbook far beyond that is a ZIP bomb, not a score sheet.
    pub fn max_unpacked(&self) -> u64 {
        (self.max_bytes as u64)
            .saturating_mul(UNPACK_RATIO)
            .max(MIN_UNPACKED)
    }
}

const UNPACK_RATIO: u64 = 32;
const MIN_UNPACKED: u64 = 16 * 1024 * 1024;

/// One data row as found in the file, before any judgement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RawRow {
    /// The row number the lecturer sees in the spreadsheet (1-based, header included).
    pub row: usize,
    pub matric: String,
    pub ca: String,
    pub exam: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParsedSheet {
    pub format: SheetFormat,
    pub header_row: usize,
    pub rows: Vec<RawRow>,
    /// The worksheet the rows came from (XLSX only).
    #[serde(default)]
    pub sheet_name: Option<String>,
}

impl ParsedSheet {
    /// The distinct matric numbers on the sheet that parse, sorted: what to ask the store
    /// about when building the roster. Unparseable ones are row errors, not roster queries.
    pub fn matric_numbers(&self) -> Vec<MatricNo> {
        let mut all: Vec<MatricNo> = self
            .rows
            .iter()
            .filter_map(|r| MatricNo::parse(&r.matric).ok())
            .collect();
        all.sort();
        all.dedup();
        all
    }
}

/// Why a whole file was refused. Each message is a sentence the lecturer can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SheetError {
    #[error("the file is {found}, not a spreadsheet; open it in Excel or LibreOffice and save it as .xlsx or .csv, then upload that file")]
    NotASpreadsheet { found: String },
    #[error("the file is {}, larger than the {} allowed; remove pictures and other worksheets, or save only the scores as .csv", Size(*bytes as u64), Size(*max as u64))]
    TooLarge { bytes: usize, max: usize },
    #[error("the workbook unpacks to {}, more than the {} allowed; save only the score sheet (without pictures) as .xlsx or .csv", Size(*bytes), Size(*max))]
    UnpacksTooLarge { bytes: u64, max: u64 },
    #[error("the sheet has {rows} rows of scores, more than the {max} allowed in one upload; split it into smaller sheets")]
    TooManyRows { rows: usize, max: usize },
    #[error("the sheet has no rows of scores; check that you uploaded the right file and that the scores are under the header row")]
    Empty,
    #[error("no header row found in the first {scanned} rows; the sheet needs a row naming its columns, such as 'Matric No', 'CA' and 'Exam'")]
    NoHeader { scanned: usize },
    #[error("row {row} looks like the header but has no {} column (columns found: {}); name the columns 'Matric No', 'CA' and 'Exam'", Names(missing), Quoted(found))]
    MissingColumns {
        row: usize,
        missing: Vec<Column>,
        found: Vec<String>,
    },
    #[error("row {row} has more than one column that could be the {column} column ({}); rename or delete all but one", Quoted(headers))]
    DuplicateColumn {
        row: usize,
        column: Column,
        headers: Vec<String>,
    },
    #[error("the workbook unpacks to more than the {} allowed; save only the score sheet (without pictures) as .xlsx or .csv", Size(*max))]
    UnpacksBeyond { max: u64 },
    #[error("one part of the workbook ({part}) unpacks to more than the {} allowed; no score sheet is that large: save only the score sheet as .xlsx or .csv", Size(*max))]
    PartTooLarge { part: String, max: u64 },
    #[error("{} holds {}{} characters; no score sheet has that (a cell may hold at most {}): check the cell, or save only the scores as .csv", Where(*row), if *at_least { "more than " } else { "" }, Count(*chars), Count(*max as u64))]
    CellTooLong {
        row: Option<usize>,
        chars: u64,
        at_least: bool,
        max: usize,
    },
    #[error("the sheet has more than {} rows (blank and title rows included); no score sheet has that many: delete the empty rows below the scores, or split the sheet", Count(*max as u64))]
    TooManyLines { max: usize },
    #[error("row {row} has a cell in column {}, beyond the {} columns allowed; a score sheet needs only a few columns: delete the columns on the right", Letters(*column), Count(*max as u64))]
    TooManyColumns {
        row: usize,
        column: usize,
        max: usize,
    },
    #[error("the workbook holds more than {} cells (empty ones included); a score sheet has far fewer: delete the unused rows and columns, or save only the scores as .csv", Count(*max as u64))]
    TooManyCells { max: usize },
    #[error("the workbook says it holds {} different texts, more than the {} allowed; it was not written by a spreadsheet program: open it in Excel or LibreOffice and save it again as .xlsx", Count(*declared), Count(*max as u64))]
    DeclaresTooManyStrings { declared: u64, max: usize },
    #[error("the workbook holds more than {} different texts; no score sheet has that many: save only the score sheet as .xlsx or .csv", Count(*max as u64))]
    TooManyStrings { max: usize },
    #[error("the texts of the workbook hold more than {} characters together; no score sheet has that many: save only the score sheet as .xlsx or .csv", Count(*max as u64))]
    StringsTooLong { max: usize },
    #[error("the workbook has more than {max} worksheets; save the score sheet on its own as .xlsx or .csv")]
    TooManyWorksheets { max: usize },
    #[error("the workbook's XML is nested more than {max} levels deep, which no spreadsheet program writes; open it in Excel or LibreOffice and save it again as .xlsx")]
    TooDeep { max: usize },
    #[error("{} holds a formula whose result was never saved (the file was written by a program that does not calculate); open it in Excel or LibreOffice, save it again as .xlsx, and upload that file", Where(Some(*row)))]
    FormulaWithoutValue { row: usize },
    #[error("the workbook could not be read ({detail}); it may be damaged: open it in Excel or LibreOffice, save it again as .xlsx and upload it again")]
    Unreadable { detail: String },
}

/// Reads a sheet. The format is told from the bytes, whatever the file was called.
pub fn parse(bytes: &[u8], limits: &SheetLimits) -> Result<ParsedSheet, SheetError> {
    if bytes.len() > limits.max_bytes {
        return Err(SheetError::TooLarge {
            bytes: bytes.len(),
            max: limits.max_bytes,
        });
    }
    match detect::detect(bytes) {
        detect::Detected::Other(what) => Err(SheetError::NotASpreadsheet { found: what.into() }),
        detect::Detected::Text(text) => {
            let (header_row, rows) = csv_read::read(&text, limits)?;
            Ok(ParsedSheet {
                format: SheetFormat::Csv,
                header_row,
                rows,
                sheet_name: None,
            })
        }
        detect::Detected::Zip => {
            let found = xlsx_read::read(bytes, limits)?;
            Ok(ParsedSheet {
                format: SheetFormat::Xlsx,
                header_row: found.header_row,
                rows: found.rows,
                sheet_name: Some(found.sheet),
            })
        }
    }
}

/// A size for people: "812 bytes", "40 KB", "5 MB", "6.1 MB" (rounded up, so a file just
/// over a limit never reads as the limit itself).
pub struct Size(pub u64);

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const KB: u64 = 1024;
        const MB: u64 = 1024 * 1024;
        match self.0 {
            b if b < KB => write!(f, "{b} bytes"),
            b if b < MB => write!(f, "{} KB", b.div_ceil(KB)),
            b => {
                // In u128: a ZIP may declare sizes near u64::MAX.
                let tenths = (u128::from(b) * 10).div_ceil(u128::from(MB));
                if tenths % 10 == 0 {
                    write!(f, "{} MB", tenths / 10)
                } else {
                    write!(f, "{}.{} MB", tenths / 10, tenths % 10)
                }
            }
        }
    }
}

/// A count for people: "32,767", "41 million", "1.5 million".
struct Count(u64);

impl fmt::Display for Count {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0;
        if n >= 1_000_000 {
            let tenths = n / 100_000;
            if tenths.is_multiple_of(10) || n >= 100_000_000 {
                write!(f, "{} million", n / 1_000_000)
            } else {
                write!(f, "{}.{} million", tenths / 10, tenths % 10)
            }
        } else if n >= 1000 {
            write!(f, "{},{:03}", n / 1000, n % 1000)
        } else {
            write!(f, "{n}")
        }
    }
}

/// A 1-based column number as a spreadsheet shows it: 1 is "A", 27 is "AA".
struct Letters(usize);

impl fmt::Display for Letters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut n = self.0;
        let mut out = Vec::new();
        while n > 0 {
            let r = (n - 1) % 26;
            out.push(b'A' + r as u8);
            n = (n - 1) / 26;
        }
        out.reverse();
        f.write_str(&String::from_utf8_lossy(&out))
    }
}

/// Where a cell is: "a cell in row 5", or "a cell of the workbook" when its row is unknown.
struct Where(Option<usize>);

impl fmt::Display for Where {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(row) => write!(f, "a cell in row {row}"),
            None => f.write_str("a cell of the workbook"),
        }
    }
}

struct Names<'a>(&'a [Column]);

impl fmt::Display for Names<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<String> = self.0.iter().map(|c| format!("'{c}'")).collect();
        f.write_str(&join_or(&names))
    }
}

struct Quoted<'a>(&'a [String]);

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<String> = self.0.iter().map(|h| format!("'{h}'")).collect();
        f.write_str(&names.join(", "))
    }
}

/// "a", "a or b", "a, b or c".
fn join_or(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}
