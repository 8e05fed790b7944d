//! The hard limits of `sheet::parse`, each passed by a generated file (the generators are
//! shared with the app's hostile-sheet suite), with the message a lecturer reads; and a
//! property test feeding the reader random workbooks: never a panic, only `Ok` or a
//! `SheetError`.

#[path = "../../app/tests/hostile/mod.rs"]
mod hostile;

use eportal_core::sheet::{parse, SheetError, SheetLimits};
use proptest::prelude::*;

fn limits(adjust: impl FnOnce(&mut SheetLimits)) -> SheetLimits {
    let mut l = SheetLimits::default();
    adjust(&mut l);
    l
}

fn refused(bytes: &[u8], l: &SheetLimits) -> SheetError {
    parse(bytes, l).expect_err("the sheet is refused")
}

#[test]
fn a_long_cell_is_named_by_row_and_length() {
    let e = SheetError::CellTooLong {
        row: Some(5),
        chars: 41_000_000,
        at_least: false,
        max: 32_767,
    };
    assert_eq!(
        e.to_string(),
        "a cell in row 5 holds 41 million characters; no score sheet has that (a cell may hold \
         at most 32,767): check the cell, or save only the scores as .csv"
    );
    let e = refused(&hostile::huge_cell(100), &limits(|l| l.max_cell_chars = 50));
    assert_eq!(
        e,
        SheetError::CellTooLong {
            row: Some(2),
            chars: 100,
            at_least: false,
            max: 50
        }
    );
    let e = refused(
        &hostile::csv_huge_cell(60),
        &limits(|l| l.max_cell_chars = 50),
    );
    assert!(
        e.to_string()
            .starts_with("a cell in row 2 holds 60 characters"),
        "{e}"
    );
}

#[test]
fn a_declared_strings_count_beyond_the_limit_is_refused_before_reading() {
    for (declared, shown) in [
        ("200001", "200,001"),
        ("18446744073709551615", "18446744073709 million"),
        ("99999999999999999999999999", "18446744073709 million"),
    ] {
        let e = refused(
            &hostile::lying_strings_count(declared),
            &SheetLimits::default(),
        );
        assert_eq!(
            e.to_string(),
            format!(
                "the workbook says it holds {shown} different texts, more than the 200,000 \
                 allowed; it was not written by a spreadsheet program: open it in Excel or \
                 LibreOffice and save it again as .xlsx"
            )
        );
    }
    // At the limit it is read (and the three real strings are the header).
    let sheet = hostile::lying_strings_count("200000");
    assert_eq!(
        parse(&sheet, &SheetLimits::default()),
        Err(SheetError::Empty)
    );
}

#[test]
fn too_many_strings_or_characters_in_them_are_refused() {
    let sheet = hostile::valid_xlsx(&[("A/1", "1", "2"), ("A/2", "1", "2")]);
    assert_eq!(
        refused(&sheet, &limits(|l| l.max_shared_strings = 4)),
        SheetError::DeclaresTooManyStrings {
            declared: 5,
            max: 4
        }
    );
    // Declaring fewer than it holds does not get more strings past the limit.
    assert_eq!(
        refused(
            &hostile::lying_strings_count("1"),
            &limits(|l| l.max_shared_strings = 2)
        ),
        SheetError::TooManyStrings { max: 2 }
    );
    let e = refused(&sheet, &limits(|l| l.max_shared_string_chars = 20));
    assert_eq!(e, SheetError::StringsTooLong { max: 20 });
    assert!(
        e.to_string()
            .starts_with("the texts of the workbook hold more than 20 characters together"),
        "{e}"
    );
}

#[test]
fn rows_columns_cells_and_worksheets_have_limits() {
    let e = refused(&hostile::many_rows(30), &limits(|l| l.max_lines = 10));
    assert_eq!(e, SheetError::TooManyLines { max: 10 });
    assert!(
        e.to_string()
            .starts_with("the sheet has more than 10 rows (blank and title rows included)"),
        "{e}"
    );

    let e = refused(
        &hostile::many_empty_cells(3, 10),
        &limits(|l| l.max_cells = 20),
    );
    assert_eq!(e, SheetError::TooManyCells { max: 20 });

    let e = refused(
        &hostile::many_empty_cells(1, 30),
        &limits(|l| l.max_columns = 28),
    );
    assert_eq!(
        e,
        SheetError::TooManyColumns {
            row: 2,
            column: 29,
            max: 28
        }
    );
    assert!(
        e.to_string()
            .starts_with("row 2 has a cell in column AC, beyond the 28 columns allowed"),
        "{e}"
    );

    let csv = b"Matric No,CA,Exam,Notes,More\nA/1,1,2,,\n";
    let e = refused(csv, &limits(|l| l.max_columns = 4));
    assert_eq!(e.to_string(), "row 1 has a cell in column E, beyond the 4 columns allowed; a score sheet needs only a few columns: delete the columns on the right");
    let csv = "Matric No,CA,Exam\n".to_string() + &"\n".repeat(30);
    assert_eq!(
        refused(csv.as_bytes(), &limits(|l| l.max_lines = 10)),
        SheetError::TooManyLines { max: 10 }
    );

    let e = refused(
        &hostile::many_worksheets(5),
        &limits(|l| l.max_worksheets = 4),
    );
    assert_eq!(
        e.to_string(),
        "the workbook has more than 4 worksheets; save the score sheet on its own as .xlsx or .csv"
    );
}

#[test]
fn unpacked_size_is_measured_not_trusted() {
    let l = limits(|l| l.max_part_bytes = 1024 * 1024);
    let e = refused(&hostile::honest_bomb(2), &l);
    assert_eq!(
        e,
        SheetError::PartTooLarge {
            part: "xl/worksheets/sheet1.xml".into(),
            max: 1024 * 1024
        }
    );
    assert!(e.to_string().starts_with("one part of the workbook (xl/worksheets/sheet1.xml) unpacks to more than the 1 MB allowed"), "{e}");
    // The same part with its sizes forged small is refused too: the reader counts bytes.
    assert!(matches!(
        refused(&hostile::forged_bomb(2), &l),
        SheetError::Unreadable { .. } | SheetError::PartTooLarge { .. }
    ));
}

#[test]
fn deep_xml_and_entity_declarations_are_refused() {
    assert_eq!(
        refused(&hostile::deep_xml(65), &SheetLimits::default()),
        SheetError::TooDeep { max: 64 }
    );
    // 50 levels inside the worksheet's own few are still a sheet (here: with no rows).
    assert_eq!(
        parse(&hostile::deep_xml(50), &SheetLimits::default()),
        Err(SheetError::Empty)
    );
    let e = refused(&hostile::entity_bomb(), &SheetLimits::default());
    assert!(
        e.to_string().contains("it declares XML document types"),
        "{e}"
    );
}

#[test]
fn formulas_give_their_saved_value_or_a_clear_refusal() {
    let sheet = hostile::valid_xlsx(&[("SCI/1", "30", "=40+5|45")]);
    let parsed = parse(&sheet, &SheetLimits::default()).expect("a readable sheet");
    assert_eq!(parsed.rows[0].exam, "45");
    assert_eq!(
        refused(&hostile::formula_without_value(), &SheetLimits::default()),
        SheetError::FormulaWithoutValue { row: 2 }
    );
}

/// Pieces of worksheet XML, put together at random: well-formed or not, sensible or not.
fn sheet_piece() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("<row>".to_string()),
        Just("</row>".to_string()),
        "<row r=\"[0-9]{1,8}\">",
        "<c r=\"[A-Z]{1,3}[0-9]{1,7}\"( t=\"(s|n|str|inlineStr|b|e|d)\")?>",
        Just("<c/>".to_string()),
        Just("</c>".to_string()),
        "<v>-?[0-9]{0,12}(\\.[0-9]{0,4})?(E[0-9]{1,3})?</v>",
        Just("<f>A1+1</f>".to_string()),
        Just("<is><t>x</t></is>".to_string()),
        "[A-Za-z0-9 &;<>/]{0,8}",
    ]
}

fn random_workbook() -> impl Strategy<Value = Vec<u8>> {
    (
        prop::collection::vec(sheet_piece(), 0..40),
        prop::collection::vec("[A-Za-z0-9/ ]{0,12}", 0..6),
        "[0-9]{1,25}",
    )
        .prop_map(|(pieces, strings, declared)| {
            let sheet = format!(
                "<worksheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\"><sheetData>{}</sheetData></worksheet>",
                pieces.concat()
            );
            let sst = format!(
                "<sst xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" uniqueCount=\"{declared}\">{}</sst>",
                strings.iter().map(|s| format!("<si><t>{s}</t></si>")).collect::<String>()
            );
            hostile::workbook(
                hostile::Part::text("xl/worksheets/sheet1.xml", &sheet),
                hostile::Part::text("xl/sharedStrings.xml", &sst),
            )
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_workbooks_are_read_or_refused_never_a_panic(bytes in random_workbook()) {
        match parse(&bytes, &SheetLimits::default()) {
            Ok(sheet) => prop_assert!(sheet.rows.len() <= 5000),
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }

    #[test]
    fn mutated_valid_workbooks_are_read_or_refused_never_a_panic(
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
    ) {
        let mut bytes = hostile::valid_xlsx(&[("SCI/1", "30", "=40+5|45"), ("SCI/2", "20", "30")]);
        for (at, b) in edits {
            let i = at.index(bytes.len());
            bytes[i] = b;
        }
        let _ = parse(&bytes, &SheetLimits::default());
    }
}
