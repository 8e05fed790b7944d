//! Generators of hostile score sheets: each file is built here, when a test or the benchmark
//! runs, never committed. Large parts are written to the ZIP writer in chunks, so building a
//! file that unpacks to tens of MB costs the generating process almost nothing.
//!
//! Each file comes with the words its rejection must contain. Used by
//! `tests/hostile_sheets.rs` and by `examples/hostile_sheets.rs` (the benchmark's files).
#![allow(dead_code)] // the test and the example use different parts

use std::io::{Cursor, Write};
use zip::write::SimpleFileOptions;
use zip::ZipWriter;

/// A generated file and the words its rejection reason must contain.
pub struct Hostile {
    pub name: &'static str,
    pub bytes: Vec<u8>,
    pub reason: &'static str,
}

/// One part of a ZIP: `head`, then `body` repeated `times` times, then `tail`.
pub struct Part<'a> {
    pub name: &'a str,
    pub head: &'a str,
    pub body: &'a str,
    pub times: usize,
    pub tail: &'a str,
}

impl<'a> Part<'a> {
    pub fn text(name: &'a str, text: &'a str) -> Self {
        Part {
            name,
            head: text,
            body: "",
            times: 0,
            tail: "",
        }
    }
}

/// A ZIP of the parts, deflated.
pub fn zip(parts: &[Part<'_>]) -> Vec<u8> {
    let mut w = ZipWriter::new(Cursor::new(Vec::new()));
    let opts = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for p in parts {
        w.start_file(p.name, opts).expect("a ZIP entry");
        w.write_all(p.head.as_bytes()).expect("written");
        // Repeat in blocks of about 64 KB: few calls, little memory.
        let per_block = (64 * 1024 / p.body.len().max(1)).max(1);
        let block = p.body.repeat(per_block.min(p.times.max(1)));
        let mut left = p.times;
        while left > 0 {
            let n = per_block.min(left);
            let bytes = if n == per_block {
                block.as_bytes()
            } else {
                &block.as_bytes()[..n * p.body.len()]
            };
            w.write_all(bytes).expect("written");
            left -= n;
        }
        w.write_all(p.tail.as_bytes()).expect("written");
    }
    w.finish().expect("a ZIP").into_inner()
}

const CONTENT_TYPES: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>"#;
const ROOT_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#;
const WORKBOOK: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Scores" sheetId="1" r:id="rId1"/></sheets></workbook>"#;
const WORKBOOK_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>"#;
const SHEET_HEAD: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>"#;
const SHEET_TAIL: &str = "</sheetData></worksheet>";
const SST_HEAD: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main""#;

/// The header row as shared strings 0, 1, 2 ("Matric No", "CA", "Exam").
const HEADER_ROW: &str = r#"<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="s"><v>2</v></c></row>"#;
const HEADER_STRINGS: &str = "<si><t>Matric No</t></si><si><t>CA</t></si><si><t>Exam</t></si>";

/// A one-worksheet workbook: the worksheet is `sheet` (a part named
/// `xl/worksheets/sheet1.xml`), the shared strings `sst` (named `xl/sharedStrings.xml`).
pub fn workbook(sheet: Part<'_>, sst: Part<'_>) -> Vec<u8> {
    zip(&[
        Part::text("[Content_Types].xml", CONTENT_TYPES),
        Part::text("_rels/.rels", ROOT_RELS),
        Part::text("xl/workbook.xml", WORKBOOK),
        Part::text("xl/_rels/workbook.xml.rels", WORKBOOK_RELS),
        sst,
        sheet,
    ])
}

fn sheet_part<'a>(head: &'a str, body: &'a str, times: usize, tail: &'a str) -> Part<'a> {
    Part {
        name: "xl/worksheets/sheet1.xml",
        head,
        body,
        times,
        tail,
    }
}

/// A valid workbook: the header, then one row per (matric, CA, exam). An exam written as
/// `=...` becomes a formula cell with that cached value after the `=`, e.g. `=40+5|45`.
pub fn valid_xlsx(rows: &[(&str, &str, &str)]) -> Vec<u8> {
    let mut strings = String::from(HEADER_STRINGS);
    let mut data = String::from(HEADER_ROW);
    for (i, (matric, ca, exam)) in rows.iter().enumerate() {
        let r = i + 2;
        strings.push_str(&format!("<si><t>{matric}</t></si>"));
        let exam_cell = match exam.strip_prefix('=') {
            Some(f) => {
                let (formula, cached) = f.split_once('|').expect("formula|value");
                format!(r#"<c r="C{r}"><f>{formula}</f><v>{cached}</v></c>"#)
            }
            None => format!(r#"<c r="C{r}"><v>{exam}</v></c>"#),
        };
        data.push_str(&format!(
            r#"<row r="{r}"><c r="A{r}" t="s"><v>{}</v></c><c r="B{r}"><v>{ca}</v></c>{exam_cell}</row>"#,
            i + 3
        ));
    }
    let n = rows.len() + 3;
    let sst_head = format!(r#"{SST_HEAD} count="{n}" uniqueCount="{n}">"#);
    workbook(
        sheet_part(SHEET_HEAD, &data, 1, SHEET_TAIL),
        Part {
            name: "xl/sharedStrings.xml",
            head: &sst_head,
            body: &strings,
            times: 1,
            tail: "</sst>",
        },
    )
}

fn plain_sst(head: &str) -> String {
    format!("{head}{HEADER_STRINGS}</sst>")
}

/// The header and one student row whose matric cell is shared string 3, so a sheet whose
/// strings table is hostile still has a reason to read it.
const ONE_ROW: &str = r#"<row r="2"><c r="A2" t="s"><v>3</v></c><c r="B2"><v>30</v></c><c r="C2"><v>45</v></c></row>"#;

fn with_header(rows: &str) -> String {
    format!("{SHEET_HEAD}{HEADER_ROW}{rows}{SHEET_TAIL}")
}

/// Shared strings that declare `count` (as written) but hold three.
pub fn lying_strings_count(count: &str) -> Vec<u8> {
    let sheet = with_header("");
    let sst = plain_sst(&format!(
        r#"{SST_HEAD} count="{count}" uniqueCount="{count}">"#
    ));
    workbook(
        Part::text("xl/worksheets/sheet1.xml", &sheet),
        Part::text("xl/sharedStrings.xml", &sst),
    )
}

/// One cell in row 2 holding `chars` characters, as shared string 3: a few KB zipped.
pub fn huge_cell(chars: usize) -> Vec<u8> {
    let sheet = with_header(ONE_ROW);
    let head = format!(r#"{SST_HEAD} count="4" uniqueCount="4">{HEADER_STRINGS}<si><t>"#);
    workbook(
        Part::text("xl/worksheets/sheet1.xml", &sheet),
        Part {
            name: "xl/sharedStrings.xml",
            head: &head,
            body: "A",
            times: chars,
            tail: "</t></si></sst>",
        },
    )
}

/// A worksheet part of `mb` MB of blanks after the header: honest sizes, deflated to KB.
pub fn honest_bomb(mb: usize) -> Vec<u8> {
    let head = format!("{SHEET_HEAD}{HEADER_ROW}");
    let sst = plain_sst(&format!(r#"{SST_HEAD} count="3" uniqueCount="3">"#));
    workbook(
        sheet_part(&head, &" ".repeat(1024), mb * 1024, SHEET_TAIL),
        Part::text("xl/sharedStrings.xml", &sst),
    )
}

/// A workbook whose many parts declare their true sizes, adding up to `mb` MB.
pub fn honest_total_bomb(mb: usize) -> Vec<u8> {
    let sheet = with_header("");
    let sst = plain_sst(&format!(r#"{SST_HEAD} count="3" uniqueCount="3">"#));
    let names: Vec<String> = (0..mb.div_ceil(16))
        .map(|i| format!("xl/media/image{i}.png"))
        .collect();
    let mut parts = vec![
        Part::text("[Content_Types].xml", CONTENT_TYPES),
        Part::text("_rels/.rels", ROOT_RELS),
        Part::text("xl/workbook.xml", WORKBOOK),
        Part::text("xl/_rels/workbook.xml.rels", WORKBOOK_RELS),
        Part::text("xl/sharedStrings.xml", &sst),
        Part::text("xl/worksheets/sheet1.xml", &sheet),
    ];
    let zeros = "\0".repeat(1024);
    for n in &names {
        parts.push(Part {
            name: n,
            head: "",
            body: &zeros,
            times: 16 * 1024,
            tail: "",
        });
    }
    zip(&parts)
}

/// Like [`honest_bomb`], but every size the ZIP declares for the worksheet says 1 KB.
pub fn forged_bomb(mb: usize) -> Vec<u8> {
    let mut bytes = honest_bomb(mb);
    forge_sizes(&mut bytes, b"xl/worksheets/sheet1.xml", 1024);
    bytes
}

/// Rewrites the uncompressed size of entry `name` in its local header and in the central
/// directory (sizes below 4 GB, no ZIP64 and no data descriptor: what `zip` writes to a
/// seekable target).
pub fn forge_sizes(bytes: &mut [u8], name: &[u8], size: u32) {
    let le16 = |b: &[u8], at: usize| usize::from(u16::from_le_bytes([b[at], b[at + 1]]));
    let mut forged = 0;
    let mut i = 0;
    while i + 46 <= bytes.len() {
        let sig = &bytes[i..i + 4];
        if sig == b"PK\x03\x04"
            && bytes[i + 30..].starts_with(name)
            && le16(bytes, i + 26) == name.len()
        {
            bytes[i + 22..i + 26].copy_from_slice(&size.to_le_bytes());
            forged += 1;
        } else if sig == b"PK\x01\x02"
            && bytes[i + 46..].starts_with(name)
            && le16(bytes, i + 28) == name.len()
        {
            bytes[i + 24..i + 28].copy_from_slice(&size.to_le_bytes());
            forged += 1;
        }
        i += 1;
    }
    assert_eq!(
        forged, 2,
        "the entry's local header and central record were both found"
    );
}

/// XML nested `depth` levels deep inside the worksheet.
pub fn deep_xml(depth: usize) -> Vec<u8> {
    let head = format!("{SHEET_HEAD}{HEADER_ROW}");
    let sst = plain_sst(&format!(r#"{SST_HEAD} count="3" uniqueCount="3">"#));
    let tail = format!("{}{SHEET_TAIL}", "</x>".repeat(depth));
    workbook(
        sheet_part(&head, "<x>", depth, &tail),
        Part::text("xl/sharedStrings.xml", &sst),
    )
}

/// A workbook listing `n` worksheets, each a part of its own.
pub fn many_worksheets(n: usize) -> Vec<u8> {
    let sheet = with_header("");
    let sst = plain_sst(&format!(r#"{SST_HEAD} count="3" uniqueCount="3">"#));
    let mut list = String::new();
    let mut rels = String::new();
    for i in 1..=n {
        list.push_str(&format!(
            r#"<sheet name="S{i}" sheetId="{i}" r:id="rId{i}"/>"#
        ));
        rels.push_str(&format!(
            r#"<Relationship Id="rId{i}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet{i}.xml"/>"#
        ));
    }
    let wb = WORKBOOK.replace(r#"<sheet name="Scores" sheetId="1" r:id="rId1"/>"#, &list);
    let wb_rels = format!(
        r#"<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">{rels}</Relationships>"#
    );
    let names: Vec<String> = (1..=n)
        .map(|i| format!("xl/worksheets/sheet{i}.xml"))
        .collect();
    let mut parts = vec![
        Part::text("[Content_Types].xml", CONTENT_TYPES),
        Part::text("_rels/.rels", ROOT_RELS),
        Part::text("xl/workbook.xml", &wb),
        Part::text("xl/_rels/workbook.xml.rels", &wb_rels),
        Part::text("xl/sharedStrings.xml", &sst),
    ];
    for name in &names {
        parts.push(Part::text(name, &sheet));
    }
    zip(&parts)
}

/// A worksheet of `n` empty rows after the header.
pub fn many_rows(n: usize) -> Vec<u8> {
    let head = format!("{SHEET_HEAD}{HEADER_ROW}");
    let sst = plain_sst(&format!(r#"{SST_HEAD} count="3" uniqueCount="3">"#));
    workbook(
        sheet_part(&head, "<row/>", n, SHEET_TAIL),
        Part::text("xl/sharedStrings.xml", &sst),
    )
}

/// `rows` rows of `per_row` empty cells each after the header.
pub fn many_empty_cells(rows: usize, per_row: usize) -> Vec<u8> {
    let head = format!("{SHEET_HEAD}{HEADER_ROW}");
    let body = format!("<row>{}</row>", "<c/>".repeat(per_row));
    let sst = plain_sst(&format!(r#"{SST_HEAD} count="3" uniqueCount="3">"#));
    workbook(
        sheet_part(&head, &body, rows, SHEET_TAIL),
        Part::text("xl/sharedStrings.xml", &sst),
    )
}

/// A student row whose exam cell is a formula with no saved value.
pub fn formula_without_value() -> Vec<u8> {
    let sheet = with_header(
        r#"<row r="2"><c r="A2" t="s"><v>3</v></c><c r="B2"><v>30</v></c><c r="C2"><f>40+5</f></c></row>"#,
    );
    let sst = format!(
        r#"{SST_HEAD} count="4" uniqueCount="4">{HEADER_STRINGS}<si><t>SCI/2021/0001</t></si></sst>"#
    );
    workbook(
        Part::text("xl/worksheets/sheet1.xml", &sheet),
        Part::text("xl/sharedStrings.xml", &sst),
    )
}

/// Shared strings with a DOCTYPE declaring nested entities (the "billion laughs").
pub fn entity_bomb() -> Vec<u8> {
    let sheet = with_header("");
    let mut dtd = String::from(r#"<!DOCTYPE sst [<!ENTITY a0 "lol">"#);
    for i in 1..10 {
        let prev = i - 1;
        dtd.push_str(&format!(
            r#"<!ENTITY a{i} "&a{prev};&a{prev};&a{prev};&a{prev};&a{prev};&a{prev};&a{prev};&a{prev};&a{prev};&a{prev};">"#
        ));
    }
    dtd.push(']');
    dtd.push('>');
    let sst = format!(
        r#"<?xml version="1.0"?>{dtd}<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="4" uniqueCount="4">{HEADER_STRINGS}<si><t>&a9;</t></si></sst>"#
    );
    workbook(
        Part::text("xl/worksheets/sheet1.xml", &sheet),
        Part::text("xl/sharedStrings.xml", &sst),
    )
}

/// A sheet within every limit that still makes the reader hold a lot: `n` shared strings of
/// `len` characters (the header, then one student row pointing at the first of them).
pub fn many_strings(n: usize, len: usize) -> Vec<u8> {
    let sheet = with_header(ONE_ROW);
    let head = format!(
        r#"{SST_HEAD} count="{total}" uniqueCount="{total}">{HEADER_STRINGS}"#,
        total = n + 3
    );
    let body = format!("<si><t>{}</t></si>", "7".repeat(len));
    workbook(
        Part::text("xl/worksheets/sheet1.xml", &sheet),
        Part {
            name: "xl/sharedStrings.xml",
            head: &head,
            body: &body,
            times: n,
            tail: "</sst>",
        },
    )
}

/// A CSV whose matric cell in row 2 holds `chars` characters.
pub fn csv_huge_cell(chars: usize) -> Vec<u8> {
    format!("Matric No,CA,Exam\n{},30,45\n", "9".repeat(chars)).into_bytes()
}

/// Every hostile file of the suite, with the words of its rejection.
pub fn all() -> Vec<Hostile> {
    vec![
        Hostile {
            name: "shared strings count lies",
            bytes: lying_strings_count("2000000000"),
            reason: "the workbook says it holds 2000 million different texts, more than the 200,000 allowed",
        },
        Hostile {
            name: "shared strings count overflows",
            bytes: lying_strings_count("18446744073709551615"),
            reason: "the workbook says it holds 18446744073709 million different texts",
        },
        Hostile {
            name: "one huge cell (40 MB)",
            bytes: huge_cell(40 * 1024 * 1024),
            reason: "a cell in row 2 holds more than 33.5 million characters; no score sheet has that",
        },
        Hostile {
            name: "honest zip bomb (one part, 48 MB)",
            bytes: honest_bomb(48),
            reason: "one part of the workbook (xl/worksheets/sheet1.xml) unpacks to more than the 32 MB allowed",
        },
        Hostile {
            name: "honest zip bomb (many parts, 256 MB)",
            bytes: honest_total_bomb(256),
            reason: "the workbook unpacks to 256.1 MB, more than the 160 MB allowed",
        },
        Hostile {
            name: "forged zip bomb (declares 1 KB, unpacks to 48 MB)",
            bytes: forged_bomb(48),
            reason: FORGED_REASON,
        },
        Hostile {
            name: "deeply nested XML (100,000 levels)",
            bytes: deep_xml(100_000),
            reason: "the workbook's XML is nested more than 64 levels deep",
        },
        Hostile {
            name: "thousands of worksheets (3000)",
            bytes: many_worksheets(3000),
            reason: "the workbook has more than 100 worksheets",
        },
        Hostile {
            name: "a million rows",
            bytes: many_rows(1_000_000),
            reason: "the sheet has more than 20,000 rows",
        },
        Hostile {
            name: "millions of empty cells (2 million)",
            bytes: many_empty_cells(2000, 1000),
            reason: "the workbook holds more than 1 million cells",
        },
        Hostile {
            name: "formula without a saved value",
            bytes: formula_without_value(),
            reason: "a cell in row 2 holds a formula whose result was never saved",
        },
        Hostile {
            name: "XML entity bomb",
            bytes: entity_bomb(),
            reason: "it declares XML document types, which no spreadsheet program writes",
        },
        Hostile {
            name: "Word document",
            bytes: zip(&[Part::text("word/document.xml", "<w:document/>")]),
            reason: "the file is a Word document, not a spreadsheet",
        },
        Hostile {
            name: "ZIP of a text file",
            bytes: zip(&[Part::text("notes.txt", "Matric No,CA,Exam")]),
            reason: "the file is a ZIP archive, not a spreadsheet",
        },
        Hostile {
            name: "CSV with a 4-million-character cell",
            bytes: csv_huge_cell(4_000_000),
            reason: "a cell in row 2 holds 4 million characters; no score sheet has that",
        },
    ]
}

/// What a ZIP whose declared sizes lie ends as.
pub const FORGED_REASON: &str = "the workbook could not be read (the ZIP container is damaged: File is larger than its declared uncompressed size)";
