//! A sheet's row count, estimated at upload for the queue disciplines (SJF serves the
//! smallest sheets first) without parsing the file on the request path.
//!
//! Text: the number of line breaks, less the heading line (a quoted cell holding a line
//! break counts twice, which only makes the estimate a little high). XLSX: the file is
//! compressed XML and reading it is the isolated worker's job, so the estimate is the file's
//! size over [`XLSX_BYTES_PER_ROW`], what a row of a typical score sheet takes zipped.
//!
//! Must never fail or allocate in proportion to the file: it is a hint, not a judgement.

/// Zipped bytes of one row of a typical XLSX score sheet (matric number, CA, exam).
pub const XLSX_BYTES_PER_ROW: u64 = 24;
/// An XLSX file's size that is not rows (styles, workbook parts, the heading).
const XLSX_OVERHEAD: u64 = 4_000;

/// The estimated number of data rows in an upload.
pub fn estimate_rows(bytes: &[u8]) -> u32 {
    let rows = if bytes.starts_with(b"PK") {
        (bytes.len() as u64).saturating_sub(XLSX_OVERHEAD) / XLSX_BYTES_PER_ROW
    } else {
        let breaks = bytes.iter().filter(|&&b| b == b'\n').count() as u64;
        let unterminated = u64::from(bytes.last().is_some_and(|&b| b != b'\n'));
        (breaks + unterminated).saturating_sub(1)
    };
    u32::try_from(rows).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_rows_are_lines_after_the_heading() {
        assert_eq!(estimate_rows(b"matric,ca,exam\nA/1,30,40\nA/2,20,30\n"), 2);
        assert_eq!(estimate_rows(b"matric,ca,exam\nA/1,30,40\nA/2,20,30"), 2);
        assert_eq!(estimate_rows(b"matric,ca,exam"), 0);
        assert_eq!(estimate_rows(b""), 0);
    }

    #[test]
    fn xlsx_rows_grow_with_the_file() {
        let small = [b'P', b'K'].repeat(2_500);
        let large = [b'P', b'K'].repeat(50_000);
        assert!(estimate_rows(&small) < estimate_rows(&large));
        assert_eq!(estimate_rows(b"PK\x03\x04"), 0);
    }
}
