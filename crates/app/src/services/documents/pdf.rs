//! The layout of transcripts and result slips: A4 pages of Helvetica text (see [`super::font`])
//! and rules, written with `pdf-writer`; the first page carries the verification code and a
//! QR code of the verification address (its dark modules drawn as filled rectangles); every
//! page's footer repeats the code and the address. A transcript flows onto as many pages as
//! its semesters need; a semester cut by a page break repeats its table header.
//!
//! Pure and synchronous (CPU work: callers run it off the request threads). It prints what
//! [`DocumentContent`] says and nothing else: no rule, no rounding, no lookup lives here.

use super::content::{CourseContent, DocumentContent, TermContent};
use super::font;
use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str, TextStr};
use qrcode::{Color, EcLevel, QrCode};

/// What the document says about its own issue (not part of the hashed content).
pub struct Issue {
    /// The verification code as people read it (`7K2D-9QXM-4T1V-BC3N`).
    pub code: String,
    /// Where anyone checks it (`https://portal.example.edu/verify/7K2D-…`).
    pub url: String,
    /// When it was issued, in words (`2026-11-26 22:10 UTC`).
    pub issued_at: String,
}

const PAGE_W: f32 = 595.0;
const PAGE_H: f32 = 842.0;
const MARGIN: f32 = 40.0;
/// Content stops here; the footer is below.
const BOTTOM: f32 = 62.0;
const ROW: f32 = 12.5;
const BODY: f32 = 9.0;
const REGULAR: Name = Name(b"F1");
const BOLD: Name = Name(b"F2");

/// Columns of a semester's table: (heading, x, right-aligned).
const COLUMNS: [(&str, f32, bool); 8] = [
    ("Course", MARGIN, false),
    ("Title", 100.0, false),
    ("Units", 360.0, true),
    ("CA", 398.0, true),
    ("Exam", 438.0, true),
    ("Total", 478.0, true),
    ("Grade", 492.0, false),
    ("Points", PAGE_W - MARGIN, true),
];
const TITLE_WIDTH: f32 = 225.0;

struct Writer {
    pages: Vec<Content>,
    y: f32,
}

impl Writer {
    fn page(&mut self) -> &mut Content {
        self.pages.last_mut().expect("there is always a page")
    }

    fn new_page(&mut self) {
        self.pages.push(Content::new());
        self.y = PAGE_H - MARGIN;
    }

    /// Starts a new page unless `height` more points fit on this one.
    fn room(&mut self, height: f32) -> bool {
        if self.y - height < BOTTOM {
            self.new_page();
            false
        } else {
            true
        }
    }

    fn text(&mut self, x: f32, y: f32, size: f32, bold: bool, bytes: &[u8]) {
        let c = self.page();
        c.begin_text();
        c.set_font(if bold { BOLD } else { REGULAR }, size);
        c.next_line(x, y);
        c.show(Str(bytes));
        c.end_text();
    }

    fn right(&mut self, x: f32, y: f32, size: f32, bold: bool, bytes: &[u8]) {
        let w = font::width(bytes, size, bold);
        self.text(x - w, y, size, bold, bytes);
    }

    /// A line of text at the current position, which moves down by `advance`.
    fn line(&mut self, size: f32, bold: bool, text: &str, advance: f32) {
        let y = self.y;
        self.text(MARGIN, y, size, bold, &font::encode(text));
        self.y -= advance;
    }

    fn rule(&mut self, y: f32, gray: f32) {
        let c = self.page();
        c.set_fill_gray(gray);
        c.rect(MARGIN, y, PAGE_W - 2.0 * MARGIN, 0.6);
        c.fill_nonzero();
        c.set_fill_gray(0.0);
    }
}

fn semester_words(t: &TermContent) -> String {
    format!("{} session, {} semester", t.session, t.semester)
}

fn table_header(w: &mut Writer) {
    let y = w.y;
    for (name, x, right) in COLUMNS {
        let bytes = font::encode(name);
        if right {
            w.right(x, y, BODY, true, &bytes);
        } else {
            w.text(x, y, BODY, true, &bytes);
        }
    }
    w.rule(y - 3.5, 0.3);
    w.y -= ROW + 1.0;
}

fn term(w: &mut Writer, t: &TermContent) {
    // A semester starts where its heading, table header and first row fit together.
    w.room(18.0 + 2.0 * ROW + 4.0);
    w.line(11.0, true, &semester_words(t), 15.0);
    table_header(w);
    for c in &t.courses {
        if !w.room(ROW) {
            w.line(
                BODY,
                false,
                &format!("{} (continued)", semester_words(t)),
                ROW,
            );
            table_header(w);
        }
        let y = w.y;
        w.text(COLUMNS[0].1, y, BODY, false, &font::encode(&c.code));
        w.text(
            COLUMNS[1].1,
            y,
            BODY,
            false,
            &font::fit(&c.title, BODY, TITLE_WIDTH),
        );
        for (i, v) in [
            (2, c.units.to_string()),
            (3, c.ca.clone()),
            (4, c.exam.clone()),
            (5, total_cell(c)),
        ] {
            w.right(COLUMNS[i].1, y, BODY, false, &font::encode(&v));
        }
        w.text(COLUMNS[6].1, y, BODY, false, &font::encode(&c.grade));
        w.right(
            COLUMNS[7].1,
            y,
            BODY,
            false,
            c.points.to_string().as_bytes(),
        );
        w.y -= ROW;
    }
    let amended: Vec<String> = t
        .courses
        .iter()
        .filter_map(|c| c.amended.as_ref().map(|d| format!("{} on {d}", c.code)))
        .collect();
    if !amended.is_empty() {
        w.room(ROW);
        w.line(
            BODY - 1.0,
            false,
            &format!("* Amended after publication: {}", amended.join(", ")),
            ROW,
        );
    }
    w.room(ROW + 8.0);
    w.rule(w.y + ROW - 4.0, 0.6);
    w.line(
        BODY + 0.5,
        true,
        &format!("Units: {}    GPA: {}    CGPA: {}", t.units, t.gpa, t.cgpa),
        ROW + 10.0,
    );
}

/// The total as printed: marked `*` when an amendment changed it (the note under the
/// semester's table says when).
fn total_cell(c: &CourseContent) -> String {
    match c.amended {
        Some(_) => format!("{}*", c.total),
        None => c.total.clone(),
    }
}

/// The QR code of `url` as filled squares, `size` points wide, its top-left at (x, top).
fn qr(c: &mut Content, url: &str, x: f32, top: f32, size: f32) {
    let Ok(code) = QrCode::with_error_correction_level(url.as_bytes(), EcLevel::M) else {
        return; // an address too long for a QR code: the printed address still stands
    };
    let n = code.width();
    let quiet = 2;
    let module = size / (n + 2 * quiet) as f32;
    c.set_fill_gray(0.0);
    for (i, colour) in code.to_colors().into_iter().enumerate() {
        if colour == Color::Dark {
            let (row, col) = (i / n, i % n);
            c.rect(
                x + (col + quiet) as f32 * module,
                top - (row + quiet + 1) as f32 * module,
                module,
                module,
            );
        }
    }
    c.fill_nonzero();
}

fn header(w: &mut Writer, doc: &DocumentContent, issue: &Issue) {
    const QR: f32 = 92.0;
    qr(
        w.page(),
        &issue.url,
        PAGE_W - MARGIN - QR,
        PAGE_H - MARGIN + 8.0,
        QR,
    );
    w.line(15.0, true, &doc.institution, 20.0);
    let title = if doc.kind == "slip" {
        "Semester result slip"
    } else {
        "Academic transcript"
    };
    w.line(12.0, true, title, 20.0);
    for (label, value) in [
        ("Name", doc.name.clone()),
        ("Matric number", doc.matric_no.clone()),
        (
            "Programme",
            format!("{}, {} level", doc.programme, doc.level),
        ),
        (
            "Grading",
            format!("{} (points out of {})", doc.grading, doc.max_points),
        ),
        ("Issued", issue.issued_at.clone()),
        ("Verification code", issue.code.clone()),
    ] {
        let y = w.y;
        w.text(MARGIN, y, BODY + 1.0, true, &font::encode(label));
        w.text(MARGIN + 95.0, y, BODY + 1.0, false, &font::encode(&value));
        w.y -= ROW + 1.5;
    }
    w.line(
        BODY,
        false,
        &format!("Check this document at {}", issue.url),
        ROW,
    );
    w.y -= 10.0;
}

fn summary(w: &mut Writer, doc: &DocumentContent) {
    let Some(s) = &doc.summary else { return };
    w.room(4.0 * ROW + 20.0);
    w.line(11.0, true, "Summary", 15.0);
    let class = s.class_of_degree.as_deref().unwrap_or("Not yet determined");
    for (label, value) in [
        ("CGPA", format!("{} (out of {})", s.cgpa, doc.max_points)),
        ("Units counted", s.total_units.to_string()),
        ("Class of degree", class.to_string()),
    ] {
        let y = w.y;
        w.text(MARGIN, y, BODY + 1.0, true, &font::encode(label));
        w.text(MARGIN + 95.0, y, BODY + 1.0, false, &font::encode(&value));
        w.y -= ROW + 1.5;
    }
}

/// The PDF of a document.
pub fn render(doc: &DocumentContent, issue: &Issue) -> Vec<u8> {
    let mut w = Writer {
        pages: Vec::new(),
        y: 0.0,
    };
    w.new_page();
    header(&mut w, doc, issue);
    for t in &doc.semesters {
        term(&mut w, t);
    }
    summary(&mut w, doc);

    let catalog = Ref::new(1);
    let tree = Ref::new(2);
    let (regular, bold) = (Ref::new(3), Ref::new(4));
    let info = Ref::new(5);
    let first_page = 6;
    let count = w.pages.len();
    let page_ref = |i: usize| Ref::new(first_page + 2 * i as i32);
    let content_ref = |i: usize| Ref::new(first_page + 2 * i as i32 + 1);

    let mut pdf = Pdf::new();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree)
        .kids((0..count).map(page_ref))
        .count(count as i32);
    for (id, name) in [(regular, &b"Helvetica"[..]), (bold, &b"Helvetica-Bold"[..])] {
        pdf.type1_font(id)
            .base_font(Name(name))
            .encoding_predefined(Name(b"WinAnsiEncoding"));
    }
    let title = format!(
        "{} of {} ({})",
        if doc.kind == "slip" {
            "Result slip"
        } else {
            "Transcript"
        },
        doc.name,
        doc.matric_no
    );
    pdf.document_info(info)
        .title(TextStr(&title))
        .producer(TextStr("eportal"));
    for (i, mut content) in w.pages.into_iter().enumerate() {
        // The footer, now that the number of pages is known.
        let foot = font::encode(&format!(
            "Verification code {} - check at {} - page {} of {}",
            issue.code,
            issue.url,
            i + 1,
            count
        ));
        content.begin_text();
        content.set_font(REGULAR, 7.5);
        content.next_line(MARGIN, 30.0);
        content.show(Str(&foot));
        content.end_text();
        let mut page = pdf.page(page_ref(i));
        page.media_box(Rect::new(0.0, 0.0, PAGE_W, PAGE_H));
        page.parent(tree);
        page.contents(content_ref(i));
        {
            let mut resources = page.resources();
            let mut fonts = resources.fonts();
            fonts.pair(REGULAR, regular);
            fonts.pair(BOLD, bold);
        }
        page.finish();
        pdf.stream(content_ref(i), &content.finish());
    }
    pdf.finish()
}
