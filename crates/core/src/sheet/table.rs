//! From lines of cells (as the CSV or XLSX reader finds them) to a header and data rows.
//!
//! Readers push one non-blank line at a time; the collector finds the header within the
//! first few lines, then keeps only the three cells that matter from each later line, so the
//! memory a sheet takes is bounded by the row limit however large the file unpacks to.
//! It must never keep a row beyond the limit, nor invent a row the lecturer did not write.

use super::excerpt::excerpt;
use super::header::{classify, Column};

/// Longest text kept of the matric, CA or exam cell of a row. No matric number (32
/// characters at most) or score is longer, so a longer cell is refused whatever it holds, and
/// its excerpt ends in "…", which no matric number or score contains.
pub const FIELD_CHARS: usize = 40;
use super::parse::{RawRow, SheetError};

/// How many non-blank lines may sit above the header (title, course, lecturer's name...).
pub(super) const HEADER_SCAN: usize = 10;

/// One line of a sheet: its row number as the lecturer sees it and its non-empty cells
/// (trimmed), as (0-based column, text).
#[derive(Debug, Default)]
pub(super) struct Line {
    pub row: usize,
    pub cells: Vec<(usize, String)>,
}

impl Line {
    fn get(&self, col: usize) -> &str {
        self.cells
            .iter()
            .find(|(c, _)| *c == col)
            .map_or("", |(_, t)| t.as_str())
    }
}

/// Whether the reader should keep feeding lines.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Flow {
    More,
    Stop,
}

/// A line that names some of the columns: the header, or the best guess at one.
#[derive(Debug)]
struct Candidate {
    row: usize,
    headers: Vec<String>,
    /// Columns naming Matric, CA, Exam, in `Column::ALL` order.
    cols: [Vec<usize>; 3],
}

impl Candidate {
    fn of(line: &Line) -> Self {
        let mut cols: [Vec<usize>; 3] = Default::default();
        for (c, text) in &line.cells {
            if let Some(k) = classify(text) {
                cols[k as usize].push(*c);
            }
        }
        Candidate {
            row: line.row,
            headers: line.cells.iter().map(|(_, t)| t.clone()).collect(),
            cols,
        }
    }

    fn recognised(&self) -> usize {
        self.cols.iter().filter(|c| !c.is_empty()).count()
    }

    fn missing(&self) -> SheetError {
        SheetError::MissingColumns {
            row: self.row,
            missing: Column::ALL
                .into_iter()
                .filter(|k| self.cols[*k as usize].is_empty())
                .collect(),
            found: self.headers.clone(),
        }
    }
}

pub(super) struct Collector {
    max_rows: usize,
    seen: usize,
    best: Option<Candidate>,
    /// Header row and the column of Matric, CA, Exam.
    header: Option<(usize, [usize; 3])>,
    fatal: Option<SheetError>,
    rows: Vec<RawRow>,
    count: usize,
}

impl Collector {
    pub fn new(max_rows: usize) -> Self {
        Collector {
            max_rows,
            seen: 0,
            best: None,
            header: None,
            fatal: None,
            rows: Vec::new(),
            count: 0,
        }
    }

    pub fn push(&mut self, line: Line) -> Flow {
        if line.cells.is_empty() {
            return Flow::More;
        }
        if self.fatal.is_some() {
            return Flow::Stop;
        }
        if let Some((_, cols)) = self.header {
            self.data_line(&line, cols);
            return Flow::More;
        }
        self.seen += 1;
        let cand = Candidate::of(&line);
        let [m, c, e] = &cand.cols;
        if !m.is_empty() && !e.is_empty() {
            if let Some(k) = Column::ALL
                .into_iter()
                .find(|k| cand.cols[*k as usize].len() > 1)
            {
                let headers = cand.cols[k as usize]
                    .iter()
                    .map(|col| line.get(*col).to_string())
                    .collect();
                self.fatal = Some(SheetError::DuplicateColumn {
                    row: cand.row,
                    column: k,
                    headers,
                });
                return Flow::Stop;
            }
            if c.is_empty() {
                self.fatal = Some(cand.missing());
                return Flow::Stop;
            }
            self.header = Some((cand.row, [m[0], c[0], e[0]]));
            return Flow::More;
        }
        if cand.recognised() > self.best.as_ref().map_or(0, Candidate::recognised) {
            self.best = Some(cand);
        }
        if self.seen >= HEADER_SCAN {
            Flow::Stop
        } else {
            Flow::More
        }
    }

    fn data_line(&mut self, line: &Line, [m, c, e]: [usize; 3]) {
        let (matric, ca, exam) = (line.get(m), line.get(c), line.get(e));
        // S/N-only template rows, notes and signature lines carry nothing to record.
        if matric.is_empty() && ca.is_empty() && exam.is_empty() {
            return;
        }
        // A header repeated further down (sheets printed across pages) is not a student.
        if classify(matric) == Some(Column::Matric) && classify(exam) == Some(Column::Exam) {
            return;
        }
        self.count += 1;
        if self.count <= self.max_rows {
            self.rows.push(RawRow {
                row: line.row,
                matric: excerpt(matric, FIELD_CHARS),
                ca: excerpt(ca, FIELD_CHARS),
                exam: excerpt(exam, FIELD_CHARS),
            });
        }
    }

    /// True once a header was found (usable or not): this reading of the file is the right
    /// one, and its outcome is final.
    pub fn header_found(&self) -> bool {
        self.header.is_some() || self.fatal.is_some()
    }

    /// How many of the three columns the best header-like line named.
    pub fn recognised(&self) -> usize {
        if self.header_found() {
            return Column::ALL.len();
        }
        self.best.as_ref().map_or(0, Candidate::recognised)
    }

    /// The header row and data rows, or why the sheet cannot be used.
    pub fn finish(self) -> Result<(usize, Vec<RawRow>), SheetError> {
        if let Some(e) = self.fatal {
            return Err(e);
        }
        let Some((header_row, _)) = self.header else {
            return Err(match self.best {
                _ if self.seen == 0 => SheetError::Empty,
                Some(cand) => cand.missing(),
                None => SheetError::NoHeader { scanned: self.seen },
            });
        };
        if self.count > self.max_rows {
            return Err(SheetError::TooManyRows {
                rows: self.count,
                max: self.max_rows,
            });
        }
        if self.rows.is_empty() {
            return Err(SheetError::Empty);
        }
        Ok((header_row, self.rows))
    }
}
