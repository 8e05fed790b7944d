//! Text for the PDF's standard Helvetica in WinAnsiEncoding (Windows-1252): the bytes a
//! string is shown as, and how wide it is (Adobe's Helvetica metrics, in thousandths of the
//! font size), so columns can be right-aligned and long titles cut to fit. No font file is
//! embedded: every PDF reader has Helvetica, and text extractors map WinAnsi back to Unicode,
//! so "Adébáyo" reads back as written. A character outside Windows-1252 is shown as its base
//! letter when it has one (Ọ as O; combining marks dropped), else as '?'; the verification
//! page shows every name exactly.

/// Widths of ' ' (32) to '~' (126).
const ASCII: [u16; 95] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278,
    278, // ' '..'/'
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584,
    556, // '0'..'?'
    1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722,
    778, // '@'..'O'
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469,
    556, // 'P'..'_'
    333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556,
    556, // '`'..'o'
    556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584, // 'p'..'~'
];

/// Windows-1252's 0x80..0x9F, by Unicode character.
const CP1252_HIGH: [(char, u8); 27] = [
    ('€', 0x80),
    ('‚', 0x82),
    ('ƒ', 0x83),
    ('„', 0x84),
    ('…', 0x85),
    ('†', 0x86),
    ('‡', 0x87),
    ('ˆ', 0x88),
    ('‰', 0x89),
    ('Š', 0x8A),
    ('‹', 0x8B),
    ('Œ', 0x8C),
    ('Ž', 0x8E),
    ('‘', 0x91),
    ('’', 0x92),
    ('“', 0x93),
    ('”', 0x94),
    ('•', 0x95),
    ('–', 0x96),
    ('—', 0x97),
    ('˜', 0x98),
    ('™', 0x99),
    ('š', 0x9A),
    ('›', 0x9B),
    ('œ', 0x9C),
    ('ž', 0x9E),
    ('Ÿ', 0x9F),
];

/// Letters with dots below and other marks common in West African names, to their base.
const BASE_LETTERS: [(char, char); 12] = [
    ('Ọ', 'O'),
    ('ọ', 'o'),
    ('Ẹ', 'E'),
    ('ẹ', 'e'),
    ('Ṣ', 'S'),
    ('ṣ', 's'),
    ('Ń', 'N'),
    ('ń', 'n'),
    ('Ǹ', 'N'),
    ('ǹ', 'n'),
    ('Ḿ', 'M'),
    ('ḿ', 'm'),
];

fn byte(c: char) -> Option<u8> {
    let u = u32::from(c);
    if (0x20..0x7F).contains(&u) || (0xA0..=0xFF).contains(&u) {
        return Some(u as u8);
    }
    CP1252_HIGH.iter().find(|(k, _)| *k == c).map(|(_, b)| *b)
}

/// The WinAnsi bytes of `text`.
pub fn encode(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    for c in text.chars() {
        if ('\u{300}'..='\u{36F}').contains(&c) {
            continue; // a combining mark: its base letter is already shown
        }
        if let Some(b) = byte(c) {
            out.push(b);
        } else if let Some((_, base)) = BASE_LETTERS.iter().find(|(k, _)| *k == c) {
            out.push(*base as u8);
        } else {
            out.push(b'?');
        }
    }
    out
}

/// The width of one WinAnsi byte, in thousandths of the font size. Accented letters take
/// the width of their base letter (close enough for alignment); other high bytes 556.
fn byte_width(b: u8) -> u16 {
    match b {
        0x20..=0x7E => ASCII[(b - 0x20) as usize],
        0xC0..=0xC5 => 667,
        0xC6 => 1000,
        0xC7 => 722,
        0xC8..=0xCB => 667,
        0xCC..=0xCF => 278,
        0xD1 => 722,
        0xD2..=0xD6 | 0xD8 => 778,
        0xD9..=0xDC => 722,
        0xDD => 667,
        0xE0..=0xE5 | 0xE8..=0xEB | 0xF1..=0xF6 | 0xF8..=0xFC => 556,
        0xE7 => 500,
        0xEC..=0xEF => 278,
        0xFD | 0xFF => 500,
        0x85 => 1000,
        _ => 556,
    }
}

/// The width of `bytes` (WinAnsi) at `size` points. Bold is about 5% wider.
pub fn width(bytes: &[u8], size: f32, bold: bool) -> f32 {
    let units: u32 = bytes.iter().map(|b| u32::from(byte_width(*b))).sum();
    let w = units as f32 * size / 1000.0;
    if bold {
        w * 1.05
    } else {
        w
    }
}

/// `text` encoded and cut (with an ellipsis) to fit `max` points at `size`.
pub fn fit(text: &str, size: f32, max: f32) -> Vec<u8> {
    let mut bytes = encode(text);
    if width(&bytes, size, false) <= max {
        return bytes;
    }
    let ellipsis = width(&[0x85], size, false);
    while !bytes.is_empty() && width(&bytes, size, false) + ellipsis > max {
        bytes.pop();
    }
    while bytes.last() == Some(&b' ') {
        bytes.pop();
    }
    bytes.push(0x85);
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_1252_names_keep_their_letters() {
        assert_eq!(encode("Adébáyo"), b"Ad\xe9b\xe1yo");
        assert_eq!(encode("Œ – €"), b"\x8c \x96 \x80");
        assert_eq!(encode("Ọ̀kẹ́"), b"Oke");
        assert_eq!(encode("日"), b"?");
    }

    #[test]
    fn long_text_is_cut_with_an_ellipsis() {
        let cut = fit(
            "Introduction to Computer Programming and Problem Solving",
            9.0,
            100.0,
        );
        assert!(width(&cut, 9.0, false) <= 100.0);
        assert_eq!(cut.last(), Some(&0x85));
        assert_eq!(fit("Short", 9.0, 100.0), b"Short");
        assert_eq!(width(b"0", 10.0, false), 5.56);
    }
}
