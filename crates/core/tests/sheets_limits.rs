//! Whole-sheet limits (bytes, rows) and robustness: `parse` must refuse, never panic, on any
//! bytes a browser can upload; `validate` must never let a rejected row into the results.

use eportal_core::grading::GradingPolicy;
use eportal_core::sheet::{
    parse, validate, ParsedSheet, RawRow, Roster, SheetError, SheetFormat, SheetLimits,
};
use eportal_core::{MatricNo, Score};
use proptest::prelude::*;
use std::collections::HashSet;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/sheets/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn limits(max_bytes: usize, max_rows: usize) -> SheetLimits {
    SheetLimits {
        max_bytes,
        max_rows,
        ..SheetLimits::default()
    }
}

#[test]
fn size_limit_is_inclusive() {
    let bytes = fixture("clean.csv");
    assert_eq!(bytes.len(), 158);
    assert_eq!(
        parse(&bytes, &limits(157, 100)),
        Err(SheetError::TooLarge {
            bytes: 158,
            max: 157
        })
    );
    assert_eq!(parse(&bytes, &limits(158, 100)).unwrap().rows.len(), 3);
    let e = SheetError::TooLarge {
        bytes: 6 * 1024 * 1024 + 1,
        max: 5 * 1024 * 1024,
    };
    assert_eq!(
        e.to_string(),
        "the file is 6.1 MB, larger than the 5 MB allowed; remove pictures and other \
         worksheets, or save only the scores as .csv"
    );
}

#[test]
fn sizes_in_messages_read_naturally_at_any_scale() {
    let too_large = |bytes: usize, max: usize| SheetError::TooLarge { bytes, max }.to_string();
    assert!(
        too_large(812, 800).starts_with("the file is 812 bytes, larger than the 800 bytes allowed")
    );
    assert!(too_large(40 * 1024, 20 * 1024)
        .starts_with("the file is 40 KB, larger than the 20 KB allowed"));
    // A ZIP may declare absurd sizes; the message must still be written, not overflow.
    let e = SheetError::UnpacksTooLarge {
        bytes: u64::MAX,
        max: 160 * 1024 * 1024,
    };
    assert!(
        e.to_string()
            .starts_with("the workbook unpacks to 17592186044416 MB, more than the 160 MB allowed"),
        "{e}"
    );
}

#[test]
fn row_limit_counts_data_rows_in_csv_and_xlsx() {
    for name in ["clean.csv", "clean.xlsx"] {
        let bytes = fixture(name);
        assert_eq!(
            parse(&bytes, &limits(1 << 20, 2)),
            Err(SheetError::TooManyRows { rows: 3, max: 2 }),
            "{name}"
        );
        assert_eq!(
            parse(&bytes, &limits(1 << 20, 3)).unwrap().rows.len(),
            3,
            "{name}"
        );
    }
}

#[test]
fn row_limit_on_a_long_sheet_reports_the_real_count() {
    let mut csv = String::from("Matric No,CA,Exam\n");
    for i in 0..5001 {
        csv.push_str(&format!("SCI/{i},20,40\n"));
    }
    let e = parse(csv.as_bytes(), &SheetLimits::default()).unwrap_err();
    assert_eq!(
        e,
        SheetError::TooManyRows {
            rows: 5001,
            max: 5000
        }
    );
    assert!(
        e.to_string().contains("split it into smaller sheets"),
        "{e}"
    );
    // Template rows with only a serial number do not count against the limit.
    let mut template = csv.replacen("Matric No,CA,Exam", "S/N,Matric No,CA,Exam", 1);
    template = template
        .lines()
        .take(5001)
        .map(|l| format!("1,{l}\n"))
        .collect();
    for n in 0..2000 {
        template.push_str(&format!("{n},,,\n"));
    }
    assert_eq!(
        parse(template.as_bytes(), &SheetLimits::default())
            .unwrap()
            .rows
            .len(),
        5000
    );
}

fn messy_csv_text() -> impl Strategy<Value = String> {
    let cell = prop_oneof![
        Just("Matric No".to_string()),
        Just("CA".to_string()),
        Just("Exam".to_string()),
        Just("\"a,b\"".to_string()),
        Just("\"".to_string()),
        "[A-Z]{2,3}/[0-9]{1,4}",
        "-?[0-9]{0,4}(\\.[0-9]{0,3})?",
        "[ a-z\u{e9}\u{FEFF}]{0,6}",
    ];
    let line = prop::collection::vec(cell, 0..7).prop_flat_map(|cells| {
        prop_oneof![Just(","), Just(";"), Just("\t")].prop_map(move |d| cells.join(d))
    });
    prop::collection::vec(line, 0..30).prop_flat_map(|lines| {
        prop_oneof![Just("\n"), Just("\r\n"), Just("\r")].prop_map(move |nl| lines.join(nl))
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn parse_never_panics_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..4096)) {
        let _ = parse(&bytes, &SheetLimits::default());
    }

    #[test]
    fn parse_never_panics_on_csv_like_text(text in messy_csv_text()) {
        if let Ok(s) = parse(text.as_bytes(), &SheetLimits::default()) {
            // Rows come after their header, in file order, each with something in it.
            prop_assert!(s.rows.iter().all(|r| r.row > s.header_row));
            prop_assert!(s.rows.windows(2).all(|w| w[0].row < w[1].row));
            prop_assert!(s.rows.iter().all(|r| !(r.matric.is_empty() && r.ca.is_empty() && r.exam.is_empty())));
        }
    }

    #[test]
    fn parse_never_panics_on_damaged_workbooks(
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut bytes = fixture("title_rows.xlsx");
        for (at, b) in edits {
            let i = at.index(bytes.len());
            bytes[i] = b;
        }
        let _ = parse(&bytes, &SheetLimits::default());
        let cut = cut.index(bytes.len());
        let _ = parse(&bytes[..cut], &SheetLimits::default());
    }

    #[test]
    fn nothing_from_a_rejected_row_reaches_a_result(
        rows in prop::collection::vec(
            ("(A/[0-3]|B/9|x!|)", "(|[0-9]{1,2}(\\.[05])?|-1|4[1-9]|abc)", "(|[0-9]{1,2}(\\.[05])?|6[1-9]|abs)"),
            0..25,
        ),
    ) {
        let sheet = ParsedSheet {
            format: SheetFormat::Csv,
            header_row: 1,
            rows: rows
                .iter()
                .enumerate()
                .map(|(i, (m, c, e))| RawRow { row: i + 2, matric: m.clone(), ca: c.clone(), exam: e.clone() })
                .collect(),
            sheet_name: None,
        };
        let known: HashSet<MatricNo> = ["A/0", "A/1", "A/2", "B/9"].iter().map(|s| MatricNo::parse(s).unwrap()).collect();
        let registered: HashSet<MatricNo> = ["A/0", "A/1", "A/2"].iter().map(|s| MatricNo::parse(s).unwrap()).collect();
        let policy = GradingPolicy::default();
        let v = validate(&sheet, &Roster { known, registered: registered.clone(), ..Roster::default() }, &policy);

        let accepted: HashSet<usize> = v.accepted.iter().map(|a| a.row).collect();
        let rejected: HashSet<usize> = v.rejected.iter().map(|e| e.row).collect();
        prop_assert!(accepted.is_disjoint(&rejected));
        let non_blank: HashSet<usize> = sheet.rows.iter()
            .filter(|r| !(r.matric.is_empty() && r.ca.is_empty() && r.exam.is_empty()))
            .map(|r| r.row).collect();
        prop_assert_eq!(&accepted | &rejected, non_blank);
        prop_assert_eq!(rejected.len(), v.rejected.len(), "one reason per rejected row");

        let mut students = HashSet::new();
        for a in &v.accepted {
            prop_assert!(registered.contains(&a.matric));
            prop_assert!(students.insert(a.matric.clone()), "one accepted row per student");
            prop_assert!(a.ca <= policy.ca_max && a.exam <= policy.exam_max);
            prop_assert_eq!(a.total.tenths(), a.ca.tenths() + a.exam.tenths());
            let raw = &sheet.rows[a.row - 2];
            if a.grade == "ABS" {
                // Recorded absent: only where the exam cell says so, with no points.
                prop_assert!(raw.exam.eq_ignore_ascii_case("abs"), "ABS only as written");
                prop_assert_eq!((a.exam, a.points), (Score::ZERO, 0));
                let ca = if raw.ca.is_empty() { Ok(Score::ZERO) } else { Score::parse(&raw.ca) };
                prop_assert_eq!(Ok(a.ca), ca, "CA exactly as written (none: 0)");
                continue;
            }
            prop_assert_eq!(Ok(a.ca), Score::parse(&raw.ca), "CA exactly as written");
            prop_assert_eq!(Ok(a.exam), Score::parse(&raw.exam), "exam exactly as written");
        }
        for e in &v.rejected {
            let prefix = format!("row {}: ", e.row);
            prop_assert!(e.message.starts_with(&prefix));
        }
    }
}
