//! A byte-level scan of one workbook part's XML, fed chunk by chunk while the part is being
//! unpacked, BEFORE the spreadsheet library sees the workbook: it measures what the library
//! would otherwise allocate for on trust (nesting depth, shared strings declared and found,
//! the length of a cell, rows, columns, cells, worksheets) and stops at the first limit passed.
//!
//! It is not an XML parser: it keeps one tag (bounded by `MAX_TAG`) and a few counters, and
//! must never allocate in proportion to its input nor judge anything about scores. Lengths
//! are counted in characters as written in the file (an entity such as `&amp;` counts as 5).

use super::parse::{SheetError, SheetLimits};
use super::xml_bytes::{attr, cell_ref, local_name, number};

/// Which part of a workbook is being scanned; each has its own counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PartKind {
    SharedStrings,
    Worksheet,
    Workbook,
    Other,
}

/// Longest tag (name and attributes) kept. Spreadsheet programs write tags well under 1 KB.
const MAX_TAG: usize = 16 * 1024;

/// What the scans of all parts found, carried from one part to the next.
#[derive(Debug, Default)]
pub(super) struct Totals {
    pub cells: usize,
    pub strings: usize,
    pub string_chars: u64,
    /// The first shared string longer than a cell may be: its index, its length, and
    /// whether the length is only a lower bound (the part was cut off while reading it).
    pub long_string: Option<LongString>,
    pub worksheets: usize,
}

#[derive(Debug, Clone, Copy)]
pub(super) struct LongString {
    pub index: u64,
    pub chars: u64,
    pub at_least: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Text,
    Tag,
    Comment,
    Cdata,
    Instruction,
}

pub(super) struct XmlScan<'a> {
    kind: PartKind,
    limits: &'a SheetLimits,
    totals: &'a mut Totals,
    state: State,
    tag: Vec<u8>,
    quote: Option<u8>,
    /// The last two bytes seen, to find the end of comments, CDATA and instructions.
    tail: [u8; 2],
    depth: usize,
    cell: Cell,
    /// Worksheet position, as the spreadsheet library counts it when `r` is missing.
    row: usize,
    col: usize,
    lines: usize,
    in_si: bool,
    si_chars: u64,
}

#[derive(Debug, Default)]
struct Cell {
    open: bool,
    chars: u64,
    formula: bool,
    value: bool,
    shared: bool,
    in_v: bool,
    /// The shared-string index written in `<v>`, if it is all digits.
    index: Option<u64>,
}

impl<'a> XmlScan<'a> {
    pub fn new(kind: PartKind, limits: &'a SheetLimits, totals: &'a mut Totals) -> Self {
        XmlScan {
            kind,
            limits,
            totals,
            state: State::Text,
            tag: Vec::new(),
            quote: None,
            tail: [0; 2],
            depth: 0,
            cell: Cell::default(),
            row: 0,
            col: 0,
            lines: 0,
            in_si: false,
            si_chars: 0,
        }
    }

    pub fn feed(&mut self, chunk: &[u8]) -> Result<(), SheetError> {
        let mut i = 0;
        while i < chunk.len() {
            let b = chunk[i];
            match self.state {
                State::Text => {
                    if !self.counting() {
                        // Fast path: nothing in this text is measured.
                        match chunk[i..].iter().position(|&c| c == b'<') {
                            Some(at) => i += at,
                            None => return Ok(()),
                        }
                        self.open_tag();
                    } else if b == b'<' {
                        self.open_tag();
                    } else {
                        self.text_byte(b);
                    }
                }
                State::Tag => self.tag_byte(b)?,
                State::Comment => {
                    if self.tail == *b"--" && b == b'>' {
                        self.state = State::Text;
                    }
                }
                State::Instruction => {
                    if self.tail[1] == b'?' && b == b'>' {
                        self.state = State::Text;
                    }
                }
                State::Cdata => {
                    if self.tail == *b"]]" && b == b'>' {
                        self.state = State::Text;
                    } else {
                        self.text_byte(b);
                    }
                }
            }
            self.tail = [self.tail[1], b];
            i += 1;
        }
        Ok(())
    }

    /// The part ended: a cell or string still open is judged on what was read.
    pub fn finish(&mut self) -> Result<(), SheetError> {
        match self.overflow() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// The part was cut off (it unpacks too large). If a cell or shared string was already
    /// over the limit, that is the better reason to give: a long cell in a worksheet is
    /// returned; a long shared string is recorded in the totals, for the worksheets to place.
    pub fn overflow(&mut self) -> Option<SheetError> {
        let max = self.limits.max_cell_chars as u64;
        if self.cell.open && self.cell.chars > max {
            return Some(SheetError::CellTooLong {
                row: Some(self.row),
                chars: self.cell.chars,
                at_least: true,
                max: self.limits.max_cell_chars,
            });
        }
        if self.in_si && self.si_chars > max && self.totals.long_string.is_none() {
            self.totals.long_string = Some(LongString {
                index: self.totals.strings.saturating_sub(1) as u64,
                chars: self.si_chars,
                at_least: true,
            });
        }
        None
    }

    /// Whether a shared string over the cell limit has been found (in this part or before).
    pub fn has_long_string(&self) -> bool {
        self.totals.long_string.is_some()
    }

    fn counting(&self) -> bool {
        self.cell.open || self.in_si
    }

    fn open_tag(&mut self) {
        self.state = State::Tag;
        self.tag.clear();
        self.quote = None;
    }

    fn text_byte(&mut self, b: u8) {
        // One character per UTF-8 lead byte.
        let char_start = b & 0xC0 != 0x80;
        if self.cell.open {
            self.cell.chars += u64::from(char_start);
            if self.cell.in_v && self.cell.shared {
                self.cell.index = match (self.cell.index, b) {
                    (Some(n), b'0'..=b'9') => Some(n.saturating_mul(10) + u64::from(b - b'0')),
                    _ => None,
                };
            }
        }
        if self.in_si {
            self.si_chars += u64::from(char_start);
        }
    }

    fn tag_byte(&mut self, b: u8) -> Result<(), SheetError> {
        match self.quote {
            Some(q) if b == q => self.quote = None,
            Some(_) => {}
            None if b == b'"' || b == b'\'' => self.quote = Some(b),
            None if b == b'>' => {
                self.state = State::Text;
                let tag = std::mem::take(&mut self.tag);
                let done = self.on_tag(&tag);
                self.tag = tag;
                return done;
            }
            None => {}
        }
        self.tag.push(b);
        if self.tag.len() > MAX_TAG {
            return Err(damaged(
                "an XML tag is longer than any spreadsheet program writes",
            ));
        }
        match self.tag.as_slice() {
            b"!--" => self.state = State::Comment,
            b"![CDATA[" => self.state = State::Cdata,
            b"?" => self.state = State::Instruction,
            [b'!', ..]
                if !(b"!--".starts_with(&self.tag) || b"![CDATA[".starts_with(&self.tag)) =>
            {
                // DOCTYPE and ENTITY declarations: the door to entity-expansion bombs.
                return Err(damaged(
                    "it declares XML document types, which no spreadsheet program writes",
                ));
            }
            _ => {}
        }
        Ok(())
    }

    fn on_tag(&mut self, tag: &[u8]) -> Result<(), SheetError> {
        if let Some(rest) = tag.strip_prefix(b"/") {
            self.depth = self.depth.saturating_sub(1);
            return self.on_end(local_name(rest));
        }
        let closed = tag.ends_with(b"/");
        if !closed {
            self.depth += 1;
            if self.depth > self.limits.max_xml_depth {
                return Err(SheetError::TooDeep {
                    max: self.limits.max_xml_depth,
                });
            }
        }
        self.on_start(local_name(tag), tag, closed)
    }

    fn on_start(&mut self, name: &[u8], tag: &[u8], closed: bool) -> Result<(), SheetError> {
        let l = self.limits;
        match (self.kind, name) {
            (PartKind::Worksheet, b"row") => {
                self.lines += 1;
                if self.lines > l.max_lines {
                    return Err(SheetError::TooManyLines { max: l.max_lines });
                }
                self.row = attr(tag, b"r")
                    .and_then(number)
                    .map_or(self.row + 1, |r| r as usize);
                self.col = 0;
            }
            (PartKind::Worksheet, b"c") => {
                self.totals.cells += 1;
                if self.totals.cells > l.max_cells {
                    return Err(SheetError::TooManyCells { max: l.max_cells });
                }
                match attr(tag, b"r").and_then(cell_ref) {
                    Some((row, col)) => {
                        (self.row, self.col) = (row, col);
                    }
                    None => self.col += 1,
                }
                if self.col > l.max_columns {
                    return Err(SheetError::TooManyColumns {
                        row: self.row,
                        column: self.col,
                        max: l.max_columns,
                    });
                }
                self.cell = Cell {
                    open: !closed,
                    shared: attr(tag, b"t") == Some(b"s"),
                    ..Cell::default()
                };
            }
            (PartKind::Worksheet, b"f") if self.cell.open => self.cell.formula = true,
            (PartKind::Worksheet, b"v") if self.cell.open => {
                self.cell.value = true;
                self.cell.in_v = !closed;
                self.cell.index = Some(0);
            }
            (PartKind::Worksheet, b"is") if self.cell.open => self.cell.value = true,
            (PartKind::SharedStrings, b"sst") => {
                for key in [&b"count"[..], b"uniqueCount"] {
                    if let Some(declared) = attr(tag, key).and_then(number) {
                        if declared > l.max_shared_strings as u64 {
                            return Err(SheetError::DeclaresTooManyStrings {
                                declared,
                                max: l.max_shared_strings,
                            });
                        }
                    }
                }
            }
            (PartKind::SharedStrings, b"si") => {
                self.totals.strings += 1;
                if self.totals.strings > l.max_shared_strings {
                    return Err(SheetError::TooManyStrings {
                        max: l.max_shared_strings,
                    });
                }
                self.in_si = !closed;
                self.si_chars = 0;
            }
            (PartKind::Workbook, b"sheet") => {
                self.totals.worksheets += 1;
                if self.totals.worksheets > l.max_worksheets {
                    return Err(SheetError::TooManyWorksheets {
                        max: l.max_worksheets,
                    });
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn on_end(&mut self, name: &[u8]) -> Result<(), SheetError> {
        let l = self.limits;
        match (self.kind, name) {
            (PartKind::Worksheet, b"v") => self.cell.in_v = false,
            (PartKind::Worksheet, b"c") if self.cell.open => {
                let cell = std::mem::take(&mut self.cell);
                if cell.chars > l.max_cell_chars as u64 {
                    return Err(SheetError::CellTooLong {
                        row: Some(self.row),
                        chars: cell.chars,
                        at_least: false,
                        max: l.max_cell_chars,
                    });
                }
                if let (true, Some(long), Some(i)) =
                    (cell.shared, self.totals.long_string, cell.index)
                {
                    if long.index == i {
                        return Err(SheetError::CellTooLong {
                            row: Some(self.row),
                            chars: long.chars,
                            at_least: long.at_least,
                            max: l.max_cell_chars,
                        });
                    }
                }
                if cell.formula && !cell.value {
                    return Err(SheetError::FormulaWithoutValue { row: self.row });
                }
            }
            (PartKind::SharedStrings, b"si") if self.in_si => {
                self.in_si = false;
                let chars = self.si_chars;
                if chars > l.max_cell_chars as u64 && self.totals.long_string.is_none() {
                    self.totals.long_string = Some(LongString {
                        index: (self.totals.strings - 1) as u64,
                        chars,
                        at_least: false,
                    });
                }
                self.totals.string_chars += chars;
                if self.totals.string_chars > l.max_shared_string_chars as u64
                    && self.totals.long_string.is_none()
                {
                    return Err(SheetError::StringsTooLong {
                        max: l.max_shared_string_chars,
                    });
                }
            }
            _ => {}
        }
        Ok(())
    }
}

fn damaged(why: &str) -> SheetError {
    SheetError::Unreadable {
        detail: why.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(kind: PartKind, xml: &str, limits: &SheetLimits) -> Result<Totals, SheetError> {
        let mut totals = Totals::default();
        let mut s = XmlScan::new(kind, limits, &mut totals);
        // Fed in small chunks, so tags and texts split across chunks are exercised.
        for chunk in xml.as_bytes().chunks(3) {
            s.feed(chunk)?;
        }
        s.finish()?;
        Ok(totals)
    }

    #[test]
    fn a_long_cell_is_reported_with_its_row_and_length() {
        let l = SheetLimits {
            max_cell_chars: 10,
            ..SheetLimits::default()
        };
        let xml = format!(
            "<worksheet><sheetData><row r=\"5\"><c r=\"A5\" t=\"inlineStr\"><is><t>{}</t></is></c></row></sheetData></worksheet>",
            "é".repeat(11)
        );
        let e = scan(PartKind::Worksheet, &xml, &l).unwrap_err();
        assert_eq!(
            e.to_string(),
            "a cell in row 5 holds 11 characters; no score sheet has that (a cell may hold at \
             most 10): check the cell, or save only the scores as .csv"
        );
    }

    #[test]
    fn comments_cdata_and_quoted_brackets_do_not_confuse_the_scan() {
        let l = SheetLimits::default();
        let xml = "<?xml version=\"1.0\"?><!-- <row> --><worksheet a=\"x>y\"><sheetData>\
                   <row><c><v><![CDATA[12]]></v></c></row></sheetData></worksheet>";
        let t = scan(PartKind::Worksheet, xml, &l).unwrap();
        assert_eq!(t.cells, 1);
        let e = scan(PartKind::Other, "<!DOCTYPE x [<!ENTITY a \"b\">]><x/>", &l).unwrap_err();
        assert!(e.to_string().contains("declares XML document types"), "{e}");
    }
}
