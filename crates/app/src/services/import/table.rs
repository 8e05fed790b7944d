//! Reading an import CSV into rows: the header is matched by name (any case, spacing or
//! punctuation: `Matric No`, `matric_no` and `MATRICNO` are one column), a UTF-8 byte-order
//! mark is tolerated, and every data row keeps the line number a registry officer sees in a
//! text editor.
//!
//! This module judges no values (that is `rows`); it must never pick a column by position,
//! and never drop a data row silently: only entirely blank lines are skipped.

use super::ImportError;

/// A column an import kind understands.
#[derive(Debug, Clone, Copy)]
pub struct ColumnSpec {
    /// The name the documentation uses (`matric_no`).
    pub name: &'static str,
    /// Other spellings accepted, already normalised (lower-case letters and digits).
    pub aliases: &'static [&'static str],
    pub required: bool,
}

pub const fn req(name: &'static str, aliases: &'static [&'static str]) -> ColumnSpec {
    ColumnSpec {
        name,
        aliases,
        required: true,
    }
}

pub const fn opt(name: &'static str, aliases: &'static [&'static str]) -> ColumnSpec {
    ColumnSpec {
        name,
        aliases,
        required: false,
    }
}

/// One data row: its line number and its cells in the order of the kind's columns
/// (an absent optional column reads as empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub line: usize,
    pub cells: Vec<String>,
}

impl Row {
    /// The trimmed cell of column `i`, or "" when the column is absent or the cell empty.
    pub fn get(&self, i: usize) -> &str {
        self.cells.get(i).map(|s| s.trim()).unwrap_or("")
    }

    /// The cell of column `i`, or why the row is refused when it is empty.
    pub fn need(&self, i: usize, spec: &[ColumnSpec]) -> Result<&str, String> {
        let v = self.get(i);
        if v.is_empty() {
            Err(format!("{} is missing", spec[i].name))
        } else {
            Ok(v)
        }
    }
}

/// The rows of a file, and the header cells that named no known column (shown to the
/// person importing, so a misspelt optional column does not go unnoticed).
#[derive(Debug, Clone, Default)]
pub struct Table {
    pub rows: Vec<Row>,
    pub ignored_columns: Vec<String>,
}

/// Lower-case letters and digits only: how header cells are compared.
pub fn normalise(cell: &str) -> String {
    cell.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

fn matches(spec: &ColumnSpec, key: &str) -> bool {
    normalise(spec.name) == key || spec.aliases.contains(&key)
}

/// Reads `bytes` as a CSV file with a header naming the columns of `spec`.
pub fn read(bytes: &[u8], spec: &[ColumnSpec]) -> Result<Table, ImportError> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        ImportError::File(format!(
            "the file is not UTF-8 text (bad byte at offset {}); save it from your spreadsheet as \"CSV UTF-8\"",
            e.valid_up_to()
        ))
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut records = reader.records();
    let header = loop {
        match records.next() {
            None => {
                return Err(ImportError::File(format!(
                    "the file is empty; its first line must name the columns ({})",
                    names(spec, true)
                )))
            }
            Some(r) => {
                let r = r.map_err(csv_error)?;
                if r.iter().any(|c| !c.trim().is_empty()) {
                    break r;
                }
            }
        }
    };
    let mut position: Vec<Option<usize>> = vec![None; spec.len()];
    let mut ignored = Vec::new();
    for (at, cell) in header.iter().enumerate() {
        let key = normalise(cell);
        match spec.iter().position(|s| matches(s, &key)) {
            Some(i) if position[i].is_some() => {
                return Err(ImportError::File(format!(
                    "the header names the {} column twice ('{}'); keep one",
                    spec[i].name,
                    cell.trim()
                )))
            }
            Some(i) => position[i] = Some(at),
            None if key.is_empty() => {}
            None => ignored.push(cell.trim().to_string()),
        }
    }
    let missing: Vec<&str> = spec
        .iter()
        .zip(&position)
        .filter(|(s, p)| s.required && p.is_none())
        .map(|(s, _)| s.name)
        .collect();
    if !missing.is_empty() {
        return Err(ImportError::File(format!(
            "the header has no {} column{}; the columns are: {}",
            missing.join(", "),
            if missing.len() > 1 { "s" } else { "" },
            names(spec, false)
        )));
    }
    let mut rows = Vec::new();
    for record in records {
        let record = record.map_err(csv_error)?;
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let line = record
            .position()
            .map(|p| start_line(text.as_bytes(), p.byte() as usize, p.line() as usize))
            .unwrap_or(0);
        let cells = position
            .iter()
            .map(|p| {
                p.and_then(|at| record.get(at))
                    .map(str::to_string)
                    .unwrap_or_default()
            })
            .collect();
        rows.push(Row { line, cells });
    }
    Ok(Table {
        rows,
        ignored_columns: ignored,
    })
}

/// The line a record starts on. The reader's position is where the previous record ended,
/// so the empty lines it skipped before this record are counted here.
fn start_line(text: &[u8], byte: usize, line: usize) -> usize {
    let skipped = text
        .get(byte..)
        .unwrap_or_default()
        .iter()
        .take_while(|b| matches!(b, b'\r' | b'\n'))
        .filter(|b| **b == b'\n')
        .count();
    line + skipped
}

fn names(spec: &[ColumnSpec], required_only: bool) -> String {
    spec.iter()
        .filter(|s| s.required || !required_only)
        .map(|s| {
            if s.required {
                s.name.to_string()
            } else {
                format!("{} (optional)", s.name)
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn csv_error(e: csv::Error) -> ImportError {
    let at = e
        .position()
        .map(|p| format!("line {}: ", p.line()))
        .unwrap_or_default();
    ImportError::File(format!("{at}the file is not readable CSV: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: &[ColumnSpec] = &[
        req("matric_no", &["matric", "matricnumber"]),
        req("surname", &[]),
        opt("password", &[]),
    ];

    #[test]
    fn header_is_matched_by_name_with_bom_and_any_spelling() {
        let t = read(
            "\u{feff}S/N,SURNAME , Matric No\r\n1,Okafor,csc/1\r\n\r\n\n2,Bello,CSC/2\n,,\n3,\"Ade\nOla\",X/3\n".as_bytes(),
            SPEC,
        )
        .unwrap();
        assert_eq!(t.ignored_columns, vec!["S/N".to_string()]);
        assert_eq!(t.rows.len(), 3);
        assert_eq!(
            (t.rows[0].line, t.rows[0].get(0), t.rows[0].get(1)),
            (2, "csc/1", "Okafor")
        );
        assert_eq!(
            (t.rows[1].line, t.rows[1].get(0), t.rows[1].get(2)),
            (5, "CSC/2", "")
        );
        assert_eq!((t.rows[2].line, t.rows[2].get(1)), (7, "Ade\nOla"));
    }

    #[test]
    fn a_missing_required_column_is_named() {
        let e = read(b"matric_no,name\nA,B\n", SPEC)
            .unwrap_err()
            .to_string();
        assert!(e.contains("no surname column"), "{e}");
    }

    #[test]
    fn a_column_named_twice_is_refused() {
        let e = read(b"matric,Matric No,surname\n", SPEC)
            .unwrap_err()
            .to_string();
        assert!(e.contains("matric_no column twice"), "{e}");
    }

    #[test]
    fn non_utf8_is_refused_with_advice() {
        let e = read(b"surname,matric\n\xff\xfe,1\n", SPEC)
            .unwrap_err()
            .to_string();
        assert!(e.contains("CSV UTF-8"), "{e}");
    }
}
