//! Reading a sheet's bytes into rows.
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SheetFormat {
    Csv,
    Xlsx,
}

/// Size and row limits of one sheet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SheetLimits {
    pub max_bytes: usize,
    pub max_rows: usize,
}

impl Default for SheetLimits {
    fn default() -> Self {
        SheetLimits {
            max_bytes: 5 * 1024 * 1024,
            max_rows: 5000,
        }
    }
}

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
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SheetError {
    #[error("placeholder")]
    Placeholder,
}

pub fn parse(_bytes: &[u8], _limits: &SheetLimits) -> Result<ParsedSheet, SheetError> {
    unimplemented!("sheet parsing")
}
