//! Reading real score-sheet files (fixtures under `fixtures/sheets/`, the XLSX ones saved
//! by LibreOffice): the rows found, their spreadsheet row numbers, and the whole-file
//! refusals. Expected values are read off the fixtures by eye, not from the code.

use eportal_core::sheet::{
    parse, Column, ParsedSheet, RawRow, SheetError, SheetFormat, SheetLimits,
};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/sheets/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("fixture {path}: {e}"))
}

fn read(name: &str) -> ParsedSheet {
    parse(&fixture(name), &SheetLimits::default())
        .unwrap_or_else(|e| panic!("{name} should parse, got: {e}"))
}

fn refused(name: &str) -> SheetError {
    match parse(&fixture(name), &SheetLimits::default()) {
        Ok(s) => panic!("{name} should be refused, got {s:?}"),
        Err(e) => e,
    }
}

fn row(row: usize, matric: &str, ca: &str, exam: &str) -> RawRow {
    RawRow {
        row,
        matric: matric.into(),
        ca: ca.into(),
        exam: exam.into(),
    }
}

fn clean_rows() -> Vec<RawRow> {
    vec![
        row(2, "SCI/2021/001", "30", "55"),
        row(3, "SCI/2021/002", "25.5", "40"),
        row(4, "SCI/2021/003", "12", "30"),
    ]
}

#[test]
fn clean_csv() {
    let s = read("clean.csv");
    assert_eq!(s.format, SheetFormat::Csv);
    assert_eq!(s.header_row, 1);
    assert_eq!(s.sheet_name, None);
    assert_eq!(s.rows, clean_rows());
}

#[test]
fn clean_xlsx_numbers_come_back_as_typed() {
    let s = read("clean.xlsx");
    assert_eq!(s.format, SheetFormat::Xlsx);
    assert_eq!(s.header_row, 1);
    assert_eq!(s.sheet_name.as_deref(), Some("clean"));
    assert_eq!(s.rows, clean_rows());
}

#[test]
fn bom_semicolons_crlf_and_alternative_names() {
    let s = read("bom_semicolon.csv");
    assert_eq!(s.header_row, 1);
    assert_eq!(
        s.rows,
        vec![
            row(2, "SCI/2021/001", "30", "55"),
            // The decimal comma is kept as written; validation reads it as 25.5.
            row(3, "SCI/2021/002", "25,5", "40"),
        ]
    );
}

#[test]
fn title_rows_blank_lines_trailing_spaces_and_columns_out_of_order() {
    let s = read("messy.csv");
    assert_eq!(s.header_row, 4);
    assert_eq!(
        s.rows,
        vec![
            row(5, "sci/2021/001", "30", "55"),
            // Line 6 is empty, line 8 only commas, line 9 a signature: none is a row.
            row(7, "SCI/2021/002", "25", "60"),
            row(10, "SCI/2021/003", "17", "42.5"),
        ]
    );
}

#[test]
fn every_bad_row_is_still_read_with_its_row_number() {
    let s = read("bad_rows.csv");
    assert_eq!(s.header_row, 1);
    assert_eq!(s.rows.len(), 17);
    assert_eq!(s.rows[1], row(3, "", "20", "40"));
    assert_eq!(s.rows[5], row(7, "SCI/2021/002", "25", ""));
    assert_eq!(s.rows[15], row(17, "SCI/2021/010", "20", "ABS"));
    let numbers: Vec<usize> = s.rows.iter().map(|r| r.row).collect();
    assert_eq!(numbers, (2..=18).collect::<Vec<_>>());
}

#[test]
fn excel_text_exports_in_other_encodings() {
    let expected = vec![
        row(2, "SCI/2021/001", "30", "55"),
        row(3, "SCI/2021/002", "25.5", "40"),
    ];
    // "CSV" in the Windows code page (a name with é), tab-separated.
    assert_eq!(read("windows_1252.csv").rows, expected);
    // "Unicode Text": UTF-16 little-endian with a byte-order mark.
    assert_eq!(read("unicode_text.txt").rows, expected);
}

#[test]
fn xlsx_numbers_stored_as_text_stay_text() {
    let s = read("text_numbers.xlsx");
    assert_eq!(
        s.rows,
        vec![
            row(2, "190401023", "30", "55"),
            // As text the leading zero survives, as the lecturer typed it.
            row(3, "0190401024", "25.5", "40"),
        ]
    );
}

#[test]
fn xlsx_title_rows_above_the_header_and_numeric_matric_numbers() {
    let s = read("title_rows.xlsx");
    assert_eq!(s.header_row, 3);
    assert_eq!(
        s.rows,
        vec![
            row(4, "190401023", "32.5", "35"),
            row(5, "190401024", "20", "44.5"),
        ]
    );
}

#[test]
fn xlsx_first_worksheet_without_a_header_is_passed_over() {
    let s = read("two_sheets.xlsx");
    assert_eq!(s.sheet_name.as_deref(), Some("Scores"));
    assert_eq!(s.header_row, 1);
    assert_eq!(
        s.rows,
        vec![
            row(2, "SCI/2021/001", "38.5", "58"),
            row(3, "SCI/2021/002", "21", ""),
        ]
    );
}

#[test]
fn matric_numbers_helper_lists_each_parseable_number_once() {
    let s = read("bad_rows.csv");
    let got: Vec<String> = s.matric_numbers().iter().map(|m| m.to_string()).collect();
    let mut want: Vec<String> = (1..=11)
        .map(|n| format!("SCI/2021/{n:03}"))
        .chain(["SCI/2021/050".into(), "SCI/2021/999".into()])
        .collect();
    want.sort();
    // "SCI#2021" is not a matric number and the empty one is missing: neither is listed;
    // "sci/2021/006" and "SCI/2021/006" are one student.
    assert_eq!(got, want);
}

#[test]
fn empty_file_and_header_without_rows_are_empty() {
    assert_eq!(refused("empty.csv"), SheetError::Empty);
    assert_eq!(refused("header_only.csv"), SheetError::Empty);
    assert_eq!(
        parse(b"\xEF\xBB\xBF\r\n\r\n", &SheetLimits::default()),
        Err(SheetError::Empty)
    );
}

#[test]
fn no_header_says_what_a_header_looks_like() {
    let e = refused("no_header.csv");
    assert_eq!(e, SheetError::NoHeader { scanned: 2 });
    assert!(
        e.to_string().contains("'Matric No', 'CA' and 'Exam'"),
        "{e}"
    );
}

#[test]
fn missing_column_is_named_with_the_headers_found() {
    let e = refused("missing_exam_column.csv");
    assert_eq!(
        e,
        SheetError::MissingColumns {
            row: 1,
            missing: vec![Column::Exam],
            found: vec![
                "Matric No".into(),
                "Name".into(),
                "CA".into(),
                "Total".into()
            ],
        }
    );
    assert_eq!(
        e.to_string(),
        "row 1 looks like the header but has no 'Exam' column (columns found: 'Matric No', \
         'Name', 'CA', 'Total'); name the columns 'Matric No', 'CA' and 'Exam'"
    );
}

#[test]
fn two_columns_for_one_score_are_refused() {
    let e = refused("duplicate_columns.csv");
    assert_eq!(
        e,
        SheetError::DuplicateColumn {
            row: 1,
            column: Column::Ca,
            headers: vec!["CA".into(), "Test".into()],
        }
    );
    assert!(
        e.to_string().contains("the CA column ('CA', 'Test')"),
        "{e}"
    );
}

#[test]
fn files_that_are_not_spreadsheets_are_named() {
    let cases = [
        ("printed.pdf", "a PDF document"),
        ("zipped_csv.zip", "a ZIP archive"),
    ];
    for (name, what) in cases {
        let e = refused(name);
        assert_eq!(e, SheetError::NotASpreadsheet { found: what.into() });
        assert!(e.to_string().contains("save it as .xlsx or .csv"), "{e}");
    }
    let inline: [(&[u8], &str); 5] = [
        (
            b"<html><table><tr><td>Matric No</td></tr></table></html>",
            "a web page or XML file",
        ),
        (b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", "a PNG image"),
        (b"\xFF\xD8\xFF\xE0\0\x10JFIF", "a JPEG image"),
        (
            b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1\0\0",
            "an old-style Excel 97-2003 (.xls) or password-protected workbook",
        ),
        (b"Matric No,CA,Exam\n\0\x01\x02\x03", "a binary file"),
    ];
    for (bytes, what) in inline {
        assert_eq!(
            parse(bytes, &SheetLimits::default()),
            Err(SheetError::NotASpreadsheet { found: what.into() })
        );
    }
}

#[test]
fn damaged_workbook_is_unreadable_not_a_panic() {
    let e = refused("truncated.xlsx");
    assert!(matches!(e, SheetError::Unreadable { .. }), "{e:?}");
    assert!(e.to_string().contains("save it again as .xlsx"), "{e}");
}

#[test]
fn zip_bomb_is_refused_before_unpacking() {
    // With a 64 KB upload limit, parts may unpack to the 16 MB floor at most.
    let limits = SheetLimits {
        max_bytes: 64 * 1024,
        max_rows: 5000,
        ..SheetLimits::default()
    };
    assert_eq!(limits.max_unpacked(), 16 * 1024 * 1024);
    let e = parse(&fixture("unpacks_huge.xlsx"), &limits).unwrap_err();
    assert_eq!(
        e,
        SheetError::UnpacksTooLarge {
            bytes: 32 * 1024 * 1024,
            max: 16 * 1024 * 1024,
        }
    );
    assert!(
        e.to_string()
            .starts_with("the workbook unpacks to 32 MB, more than the 16 MB allowed"),
        "{e}"
    );
}

#[test]
fn row_numbers_follow_the_lines_excel_shows() {
    // "CSV (Macintosh)" ends lines with a lone CR; a blank line is an empty row; a quoted
    // name spanning two lines is one row in Excel; a header repeated for a second printed
    // page is not a student.
    let text = "Matric No,Name,CA,Exam\r\rA/1,\"Okafor,\nAdaeze\",30,55\rMatric No,Name,CA,Exam\rA/2,Bello,20,41\r";
    let s = parse(text.as_bytes(), &SheetLimits::default()).unwrap();
    assert_eq!(
        s.rows,
        vec![row(3, "A/1", "30", "55"), row(5, "A/2", "20", "41")]
    );
}
