//! Score sheets: a lecturer's file for one course in one term (CSV, or XLSX saved by Excel or
//! LibreOffice), read into rows (`parse`) and each row judged against the roster and the
//! grading policy (`validate`). A row ends accepted or rejected with its row number and a
//! reason a lecturer understands; nothing from a rejected row may reach a result.

mod csv_read;
mod detect;
mod estimate;
pub mod excerpt;
mod header;
pub mod parse;
mod scores;
mod table;
pub mod validate;
mod xlsx_read;
mod xml_bytes;
mod xml_scan;
mod zip_scan;

pub use detect::sniff;
pub use estimate::estimate_rows;
pub use header::Column;
pub use parse::{parse, ParsedSheet, RawRow, SheetError, SheetFormat, SheetLimits, Size};
pub use validate::{validate, validate_by, AcceptedRow, Roster, RowError, RowErrorKind, Validated};
