//! The streaming pre-scan of a workbook's ZIP container, run before the spreadsheet library
//! opens it: every part is unpacked through a fixed buffer, its real size counted against the
//! per-part and total limits (declared sizes are never trusted: a forged entry may claim 1 KB
//! and unpack to gigabytes), and every XML part is measured by `xml_scan` on the way.
//!
//! It must never hold a part in memory, nor stop reading a part later than one buffer past a
//! limit. It says nothing about what the cells mean.

use super::parse::{SheetError, SheetLimits};
use super::xml_scan::{PartKind, Totals, XmlScan};
use std::io::{Cursor, Read};

const CHUNK: usize = 64 * 1024;

pub(super) fn scan(bytes: &[u8], limits: &SheetLimits) -> Result<(), SheetError> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| damaged(&e))?;
    let names: Vec<String> = (0..zip.len())
        .map(|i| {
            zip.name_for_index(i)
                .and_then(|n| n.ok())
                .map_or_else(String::new, |n| n.into_owned())
        })
        .collect();
    // Shared strings first, so a worksheet cell pointing at an over-long one can name its row;
    // the workbook next, so thousands of worksheets are refused before any is read.
    let mut order: Vec<usize> = (0..names.len()).collect();
    order.sort_by_key(|&i| match kind_of(&names[i]) {
        PartKind::SharedStrings => 0,
        PartKind::Workbook => 1,
        _ => 2,
    });
    let max_total = limits.max_unpacked();
    let mut totals = Totals::default();
    let mut unpacked: u64 = 0;
    let mut buf = vec![0u8; CHUNK];
    for i in order {
        let name = &names[i];
        let kind = kind_of(name);
        let xml = is_xml(name);
        let mut part = zip.by_index(i).map_err(|e| damaged(&e))?;
        let mut scan = XmlScan::new(kind, limits, &mut totals);
        let mut size: u64 = 0;
        loop {
            let n = part.read(&mut buf).map_err(|e| SheetError::Unreadable {
                detail: format!("the ZIP container is damaged: {e}"),
            })?;
            if n == 0 {
                break;
            }
            size += n as u64;
            unpacked += n as u64;
            if xml {
                scan.feed(&buf[..n])?;
            }
            if kind == PartKind::SharedStrings && scan.has_long_string() {
                // The rest of the strings no longer matter: the sheet is refused for this one.
                break;
            }
            if size > limits.max_part_bytes || unpacked > max_total {
                if let Some(e) = scan.overflow() {
                    return Err(e);
                }
                if scan.has_long_string() {
                    // The better reason is that one text; the worksheets will say where it is.
                    break;
                }
                return Err(if size > limits.max_part_bytes {
                    SheetError::PartTooLarge {
                        part: super::excerpt::excerpt(name, 60),
                        max: limits.max_part_bytes,
                    }
                } else {
                    SheetError::UnpacksBeyond { max: max_total }
                });
            }
        }
        if size <= limits.max_part_bytes && xml {
            scan.finish()?;
        }
    }
    if let Some(long) = totals.long_string {
        return Err(SheetError::CellTooLong {
            row: None,
            chars: long.chars,
            at_least: long.at_least,
            max: limits.max_cell_chars,
        });
    }
    Ok(())
}

fn kind_of(name: &str) -> PartKind {
    let lower = name.to_ascii_lowercase();
    if lower == "xl/sharedstrings.xml" {
        PartKind::SharedStrings
    } else if lower == "xl/workbook.xml" {
        PartKind::Workbook
    } else if lower.starts_with("xl/worksheets/") && lower.ends_with(".xml") {
        PartKind::Worksheet
    } else {
        PartKind::Other
    }
}

fn is_xml(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.ends_with(".xml") || lower.ends_with(".rels") || lower.ends_with(".vml")
}

fn damaged(e: &zip::result::ZipError) -> SheetError {
    SheetError::Unreadable {
        detail: format!("the ZIP container is damaged: {e}"),
    }
}
