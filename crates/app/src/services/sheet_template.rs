//! Score-sheet templates: a course's class written out as the sheet its lecturer fills in —
//! columns S/N, Matric No, Name, "CA (max)", "Exam (max)" with the grading policy's maxima —
//! as CSV or as an XLSX workbook (written part by part into a zip: a handful of small,
//! fixed XML parts, so no spreadsheet-writing library is needed).
//!
//! The headers must stay ones the sheet reader recognises (`eportal_core::sheet::header`), so
//! a filled-in template uploads as is. This module must never put a score in a template:
//! the CA and exam cells are left empty for the lecturer.

use super::teaching::TemplateData;
use eportal_core::model::CourseTerm;
use std::io::Write;

/// A file name for the template of `term`, without extension: `CSC201_2024-2025_first_scores`.
pub fn file_stem(term: &CourseTerm) -> String {
    format!(
        "{}_{}-{}_{}_scores",
        term.course_code.as_str().replace(' ', ""),
        term.session.start_year(),
        term.session.start_year() + 1,
        term.semester
    )
}

fn headers(t: &TemplateData) -> [String; 5] {
    [
        "S/N".into(),
        "Matric No".into(),
        "Name".into(),
        format!("CA ({})", t.ca_max),
        format!("Exam ({})", t.exam_max),
    ]
}

fn full_name(surname: &str, first_name: &str) -> String {
    format!("{}, {}", surname.trim(), first_name.trim())
}

/// A CSV field, quoted when it holds a comma, a quote or a line break (RFC 4180).
pub(crate) fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// A name as a CSV cell a spreadsheet will not run: text starting with `=`, `+`, `-` or `@`
/// is a formula to Excel and LibreOffice when they open a CSV file, so it is kept as text
/// with a leading apostrophe. (The reader ignores the name column; XLSX cells are typed
/// text and need no such care.)
fn inert(s: String) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s
    }
}

/// The template as CSV (UTF-8, CRLF line ends as spreadsheets write them).
pub fn csv(t: &TemplateData) -> Vec<u8> {
    let mut out = headers(t).join(",");
    out.push_str("\r\n");
    for (i, s) in t.class.students.iter().enumerate() {
        let line = [
            (i + 1).to_string(),
            s.matric_no.clone(),
            inert(full_name(&s.surname, &s.first_name)),
            String::new(),
            String::new(),
        ]
        .map(|f| csv_field(&f))
        .join(",");
        out.push_str(&line);
        out.push_str("\r\n");
    }
    out.into_bytes()
}

fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            // Control characters other than tab and line breaks are not allowed in XML 1.0.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

const XML_HEAD: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>"#;
const MAIN_NS: &str = "http://schemas.openxmlformats.org/spreadsheetml/2006/main";
const REL_NS: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
const PKG_REL_NS: &str = "http://schemas.openxmlformats.org/package/2006/relationships";

const CONTENT_TYPES: &str = r#"<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/></Types>"#;

/// Style 0: normal; style 1: bold (the header row).
const STYLES: &str = r#"<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font><font><b/><sz val="11"/><name val="Calibri"/></font></fonts><fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills><borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders><cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs><cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/><xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/></cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>"#;

/// A worksheet name Excel accepts: at most 31 characters, none of `[]:*?/\`.
fn sheet_name(term: &CourseTerm) -> String {
    let name = format!(
        "{} {}-{} {}",
        term.course_code.as_str().replace(' ', ""),
        term.session.start_year(),
        term.session.start_year() + 1,
        term.semester
    );
    name.chars()
        .filter(|c| !"[]:*?/\\".contains(*c))
        .take(31)
        .collect()
}

fn text_cell(r: &str, s: &str, style: u8) -> String {
    format!(
        r#"<c r="{r}" t="inlineStr" s="{style}"><is><t xml:space="preserve">{}</t></is></c>"#,
        xml_escape(s)
    )
}

fn worksheet(t: &TemplateData) -> String {
    let n = t.class.students.len();
    let last = n + 1;
    let mut rows = String::new();
    rows.push_str(r#"<row r="1">"#);
    for (col, h) in ["A", "B", "C", "D", "E"].iter().zip(headers(t)) {
        rows.push_str(&text_cell(&format!("{col}1"), &h, 1));
    }
    rows.push_str("</row>");
    for (i, s) in t.class.students.iter().enumerate() {
        let r = i + 2;
        rows.push_str(&format!(r#"<row r="{r}"><c r="A{r}"><v>{}</v></c>"#, i + 1));
        rows.push_str(&text_cell(&format!("B{r}"), &s.matric_no, 0));
        rows.push_str(&text_cell(
            &format!("C{r}"),
            &full_name(&s.surname, &s.first_name),
            0,
        ));
        // Empty score cells, for the lecturer to fill in.
        rows.push_str(&format!(r#"<c r="D{r}"/><c r="E{r}"/></row>"#));
    }
    // Spreadsheets refuse a score outside 0..max as it is typed; the reader checks again.
    let validations = if n == 0 {
        String::new()
    } else {
        let rule = |col: &str, max: &eportal_core::Score| {
            format!(
                r#"<dataValidation type="decimal" operator="between" allowBlank="1" showErrorMessage="1" errorTitle="Score out of range" error="Enter a score from 0 to {max}." sqref="{col}2:{col}{last}"><formula1>0</formula1><formula2>{max}</formula2></dataValidation>"#
            )
        };
        format!(
            r#"<dataValidations count="2">{}{}</dataValidations>"#,
            rule("D", &t.ca_max),
            rule("E", &t.exam_max)
        )
    };
    format!(
        r#"{XML_HEAD}<worksheet xmlns="{MAIN_NS}" xmlns:r="{REL_NS}"><dimension ref="A1:E{last}"/><sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/></sheetView></sheetViews><sheetFormatPr defaultRowHeight="15"/><cols><col min="1" max="1" width="6" customWidth="1"/><col min="2" max="2" width="18" customWidth="1"/><col min="3" max="3" width="32" customWidth="1"/><col min="4" max="5" width="11" customWidth="1"/></cols><sheetData>{rows}</sheetData>{validations}<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/></worksheet>"#
    )
}

/// The template as an XLSX workbook with one worksheet.
pub fn xlsx(t: &TemplateData) -> std::io::Result<Vec<u8>> {
    let workbook = format!(
        r#"{XML_HEAD}<workbook xmlns="{MAIN_NS}" xmlns:r="{REL_NS}"><sheets><sheet name="{}" sheetId="1" r:id="rId1"/></sheets></workbook>"#,
        xml_escape(&sheet_name(&t.class.term))
    );
    let parts: [(&str, String); 6] = [
        ("[Content_Types].xml", format!("{XML_HEAD}{CONTENT_TYPES}")),
        (
            "_rels/.rels",
            format!(
                r#"{XML_HEAD}<Relationships xmlns="{PKG_REL_NS}"><Relationship Id="rId1" Type="{REL_NS}/officeDocument" Target="xl/workbook.xml"/></Relationships>"#
            ),
        ),
        ("xl/workbook.xml", workbook),
        (
            "xl/_rels/workbook.xml.rels",
            format!(
                r#"{XML_HEAD}<Relationships xmlns="{PKG_REL_NS}"><Relationship Id="rId1" Type="{REL_NS}/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="{REL_NS}/styles" Target="styles.xml"/></Relationships>"#
            ),
        ),
        (
            "xl/styles.xml",
            format!(r#"{XML_HEAD}<styleSheet xmlns="{MAIN_NS}">{STYLES}</styleSheet>"#),
        ),
        ("xl/worksheets/sheet1.xml", worksheet(t)),
    ];
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, body) in parts {
        zip.start_file(name, options)
            .map_err(std::io::Error::other)?;
        zip.write_all(body.as_bytes())?;
    }
    Ok(zip.finish().map_err(std::io::Error::other)?.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::teaching::{ClassList, ClassMember};
    use eportal_core::model::Course;
    use eportal_core::{AcademicSession, CourseCode, Score, Semester};

    fn data() -> TemplateData {
        let code = CourseCode::parse("CSC 201").unwrap();
        let term = CourseTerm {
            course_code: code.clone(),
            session: AcademicSession::new(2024).unwrap(),
            semester: Semester::First,
        };
        let member = |m: &str, surname: &str, first: &str| ClassMember {
            matric_no: m.into(),
            surname: surname.into(),
            first_name: first.into(),
            level: 200,
            programme_code: "CSC".into(),
        };
        TemplateData {
            class: ClassList {
                course: Course {
                    code,
                    title: "Data Structures".into(),
                    units: 3,
                    department_code: "CSC".into(),
                    level: 200,
                    semester: Semester::First,
                },
                term,
                students: vec![
                    member("SCI/2021/0001", "Obi", "Ada"),
                    member("SCI/2021/0002", "O\"Neil & Sons", "<Bola>"),
                ],
            },
            ca_max: Score::from_marks(40),
            exam_max: Score::from_marks(60),
        }
    }

    #[test]
    fn csv_lists_the_class_with_empty_scores_and_quotes_names() {
        let text = String::from_utf8(csv(&data())).unwrap();
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(lines[0], "S/N,Matric No,Name,CA (40),Exam (60)");
        assert_eq!(lines[1], "1,SCI/2021/0001,\"Obi, Ada\",,");
        assert_eq!(lines[2], "2,SCI/2021/0002,\"O\"\"Neil & Sons, <Bola>\",,");
        assert_eq!(lines[3], "");
    }

    #[test]
    fn names_are_escaped_in_the_worksheet() {
        let xml = worksheet(&data());
        assert!(
            xml.contains("O&quot;Neil &amp; Sons, &lt;Bola&gt;"),
            "{xml}"
        );
        assert!(xml.contains(r#"<dimension ref="A1:E3"/>"#));
        assert!(xml.contains(r#"<c r="D3"/><c r="E3"/>"#));
        // Scores outside 0…max are refused as they are typed, over every student's row.
        assert!(xml.contains(r#"sqref="D2:D3"><formula1>0</formula1><formula2>40</formula2>"#));
        assert!(xml.contains(r#"sqref="E2:E3"><formula1>0</formula1><formula2>60</formula2>"#));
    }

    #[test]
    fn file_and_sheet_names_have_no_separators() {
        let term = data().class.term;
        assert_eq!(file_stem(&term), "CSC201_2024-2025_first_scores");
        assert_eq!(sheet_name(&term), "CSC201 2024-2025 first");
    }

    /// The templates go through eportal's own sheet reader: the header is found and every
    /// student is a row, with the scores still blank.
    #[test]
    fn both_formats_read_back_as_the_class_with_blank_scores() {
        use eportal_core::sheet::{parse, SheetFormat, SheetLimits};
        let t = data();
        let limits = SheetLimits::default();
        for (bytes, format) in [
            (csv(&t), SheetFormat::Csv),
            (xlsx(&t).unwrap(), SheetFormat::Xlsx),
        ] {
            let sheet = parse(&bytes, &limits).unwrap();
            assert_eq!(sheet.format, format);
            assert_eq!(sheet.header_row, 1);
            let rows: Vec<(usize, &str, &str, &str)> = sheet
                .rows
                .iter()
                .map(|r| (r.row, r.matric.as_str(), r.ca.as_str(), r.exam.as_str()))
                .collect();
            assert_eq!(
                rows,
                [(2, "SCI/2021/0001", "", ""), (3, "SCI/2021/0002", "", "")],
                "{format:?}"
            );
        }
    }

    #[test]
    fn a_name_that_looks_like_a_formula_stays_text_in_csv() {
        let mut t = data();
        t.class.students[0].surname = "=HYPERLINK(\"http://x\")".into();
        let text = String::from_utf8(csv(&t)).unwrap();
        let line = text.split("\r\n").nth(1).unwrap();
        assert_eq!(
            line,
            "1,SCI/2021/0001,\"'=HYPERLINK(\"\"http://x\"\"), Ada\",,"
        );
    }

    /// A course nobody has registered for yet still gets a workbook with its header.
    #[test]
    fn an_empty_class_is_a_header_alone() {
        use eportal_core::sheet::{parse, SheetError, SheetLimits};
        let mut t = data();
        t.class.students.clear();
        let bytes = xlsx(&t).unwrap();
        assert_eq!(
            parse(&bytes, &SheetLimits::default()),
            Err(SheetError::Empty)
        );
        assert_eq!(csv(&t), b"S/N,Matric No,Name,CA (40),Exam (60)\r\n");
    }
}
