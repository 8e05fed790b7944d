//! Telling what an uploaded file is from its bytes alone (never from its name, which the
//! lecturer's computer may have got wrong), and turning text files into a `String`.
//!
//! This module must never guess a file is a spreadsheet when it is not: anything that is
//! neither a ZIP container nor plain text is refused here with a name for what it is.

/// What the bytes of an upload turned out to be.
pub(super) enum Detected {
    /// A ZIP container: an XLSX workbook or something else zipped; `xlsx` reads further.
    Zip,
    /// Text, decoded, with any byte-order mark removed.
    Text(String),
    /// Not a spreadsheet: a phrase naming what it is ("a PDF document").
    Other(&'static str),
}

const MAGIC: &[(&[u8], &str)] = &[
    (b"%PDF", "a PDF document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xFF\xD8\xFF", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"II*\0", "a TIFF image"),
    (b"MM\0*", "a TIFF image"),
    (b"Rar!", "a RAR archive"),
    (b"7z\xBC\xAF", "a 7-Zip archive"),
    (b"\x1F\x8B", "a gzip archive"),
    (b"{\\rtf", "an RTF document"),
    // The OLE container holds old Excel 97-2003 workbooks and also every password-protected
    // modern workbook (Excel encrypts the XLSX inside one).
    (
        b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1",
        "an old-style Excel 97-2003 (.xls) or password-protected workbook",
    ),
];

pub(super) fn detect(bytes: &[u8]) -> Detected {
    if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06") {
        return Detected::Zip;
    }
    if let Some((_, what)) = MAGIC.iter().find(|(m, _)| bytes.starts_with(m)) {
        return Detected::Other(what);
    }
    match decode_text(bytes) {
        // Web systems often export "Excel" files that are really HTML or XML tables.
        Some(text) if text.trim_start().starts_with('<') => {
            Detected::Other("a web page or XML file")
        }
        Some(text) => Detected::Text(text),
        None => Detected::Other("a binary file"),
    }
}

/// The upload's first check, before the bytes are kept: `Err` names what the file is when it
/// cannot be a spreadsheet at all. Only the first 64 KB are read (a text file's encoding
/// shows there; the worker reads the whole file, in isolation); a multi-byte character cut
/// at the end of that sample is not held against the file.
pub fn sniff(bytes: &[u8]) -> Result<(), &'static str> {
    const SAMPLE: usize = 64 * 1024;
    let mut head = &bytes[..bytes.len().min(SAMPLE)];
    if head.len() < bytes.len() {
        if let Err(e) = std::str::from_utf8(head) {
            if e.error_len().is_none() {
                head = &head[..e.valid_up_to()];
            }
        }
    }
    match detect(head) {
        Detected::Other(what) => Err(what),
        Detected::Zip | Detected::Text(_) => Ok(()),
    }
}

fn decode_text(bytes: &[u8]) -> Option<String> {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return std::str::from_utf8(rest)
            .ok()
            .map(str::to_owned)
            .filter(|t| is_text(t));
    }
    // Excel's "Unicode Text" export is UTF-16 with a byte-order mark.
    if let Some(rest) = bytes.strip_prefix(b"\xFF\xFE") {
        return utf16(rest, u16::from_le_bytes);
    }
    if let Some(rest) = bytes.strip_prefix(b"\xFE\xFF") {
        return utf16(rest, u16::from_be_bytes);
    }
    if let Ok(t) = std::str::from_utf8(bytes) {
        return Some(t.to_owned()).filter(|t| is_text(t));
    }
    // Excel's plain "CSV (Comma delimited)" is written in the Windows code page (1252), not
    // UTF-8. Binary files still fail the control-character test below.
    let text: String = bytes.iter().map(|&b| windows_1252(b)).collect();
    Some(text).filter(|t| is_text(t))
}

/// Windows-1252: Latin-1, except that 0x80–0x9F hold printable characters (€, curly quotes,
/// dashes, Š, Ž, Œ …) instead of control codes. The five bytes the code page leaves undefined
/// stay the control codes they are in Latin-1.
fn windows_1252(b: u8) -> char {
    const HIGH: [char; 32] = [
        '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8D}', 'Ž',
        '\u{8F}', '\u{90}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9D}',
        'ž', 'Ÿ',
    ];
    match b {
        0x80..=0x9F => HIGH[usize::from(b - 0x80)],
        _ => char::from(b),
    }
}

fn utf16(bytes: &[u8], word: fn([u8; 2]) -> u16) -> Option<String> {
    let pairs = bytes.chunks_exact(2);
    if !pairs.remainder().is_empty() {
        return None;
    }
    let units = pairs.map(|p| word([p[0], p[1]]));
    let text: String = char::decode_utf16(units).collect::<Result<_, _>>().ok()?;
    Some(text).filter(|t| is_text(t))
}

/// Text files carry tabs and line breaks, never other control characters; binary files
/// (images, executables, encrypted data) almost always do within their first bytes.
fn is_text(t: &str) -> bool {
    t.chars().all(|c| {
        !c.is_control()
            || matches!(c, '\t' | '\n' | '\r' | '\x0C' | '\x1A')
            || ('\u{80}'..='\u{9F}').contains(&c)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_1252_text_reads_with_its_own_punctuation() {
        // "Adébáyo O’Brien – 45" as Excel's "CSV (Comma delimited)" writes it.
        let bytes = b"Ad\xe9b\xe1yo O\x92Brien \x96 45\r\n";
        match detect(bytes) {
            Detected::Text(t) => assert_eq!(t, "Adébáyo O’Brien – 45\r\n"),
            _ => panic!("a Windows-1252 text file was not read as text"),
        }
    }

    #[test]
    fn sniff_names_what_a_file_is_and_tolerates_a_cut_sample() {
        assert_eq!(sniff(b"%PDF-1.7 ..."), Err("a PDF document"));
        assert_eq!(sniff(b"\x00\x01\x02\x03binary"), Err("a binary file"));
        assert_eq!(sniff(b"Matric No,CA,Exam\nSCI/1,30,40\n"), Ok(()));
        // 64 KB of text whose sample ends inside a two-byte character.
        let mut big = b"Matric No,Name\n".to_vec();
        while big.len() < 64 * 1024 - 1 {
            big.push(b'a');
        }
        big.extend_from_slice("é, and more\n".as_bytes());
        assert_eq!(sniff(&big), Ok(()));
        // The Windows code page, as the upload check sees it.
        assert_eq!(sniff(b"Matric No,Name\nSCI/1,Ad\xe9b\xe1yo\n"), Ok(()));
    }
}
