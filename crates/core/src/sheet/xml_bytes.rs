//! Reading the few things `xml_scan` needs from one raw XML tag: its local name, an
//! attribute's value, a decimal number, a cell reference such as `B5`.
//!
//! These work on bytes as written (no unescaping, no allocation) and must never panic or
//! overflow, whatever the tag holds: numbers saturate.

/// The tag's name without namespace prefix: `x:row r="1"` → `row`.
pub(super) fn local_name(tag: &[u8]) -> &[u8] {
    let end = tag
        .iter()
        .position(|&b| b.is_ascii_whitespace() || b == b'/')
        .unwrap_or(tag.len());
    let name = &tag[..end];
    match name.iter().rposition(|&b| b == b':') {
        Some(colon) => &name[colon + 1..],
        None => name,
    }
}

/// The value of attribute `key` (without namespace prefix) in a tag.
pub(super) fn attr<'t>(tag: &'t [u8], key: &[u8]) -> Option<&'t [u8]> {
    let mut i = 0;
    while i + key.len() < tag.len() {
        let before_ok = i > 0 && tag[i - 1].is_ascii_whitespace();
        if before_ok && tag[i..].starts_with(key) {
            let mut j = i + key.len();
            while j < tag.len() && tag[j].is_ascii_whitespace() {
                j += 1;
            }
            if tag.get(j) == Some(&b'=') {
                j += 1;
                while j < tag.len() && tag[j].is_ascii_whitespace() {
                    j += 1;
                }
                let q = *tag.get(j)?;
                if q == b'"' || q == b'\'' {
                    let rest = &tag[j + 1..];
                    let end = rest.iter().position(|&b| b == q)?;
                    return Some(&rest[..end]);
                }
                return None;
            }
        }
        i += 1;
    }
    None
}

/// A decimal number, saturating: a declared count of 10^30 is "more than allowed", not an error.
pub(super) fn number(text: &[u8]) -> Option<u64> {
    if text.is_empty() || !text.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(text.iter().fold(0u64, |n, &d| {
        n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    }))
}

/// A cell reference such as `B5` as (row, column), both 1-based.
pub(super) fn cell_ref(r: &[u8]) -> Option<(usize, usize)> {
    let letters = r.iter().take_while(|b| b.is_ascii_alphabetic()).count();
    if letters == 0 {
        return None;
    }
    let col = r[..letters].iter().fold(0usize, |n, &b| {
        n.saturating_mul(26)
            .saturating_add(usize::from(b.to_ascii_uppercase() - b'A' + 1))
    });
    let row = number(&r[letters..])?;
    Some((usize::try_from(row).unwrap_or(usize::MAX), col))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_and_references_are_read_from_raw_tags() {
        assert_eq!(attr(b"c r=\"B5\" t='s'", b"r"), Some(&b"B5"[..]));
        assert_eq!(attr(b"c r=\"B5\" t='s'", b"t"), Some(&b"s"[..]));
        assert_eq!(attr(b"sheet name=\"x\" r:id=\"rId1\"", b"r"), None);
        assert_eq!(cell_ref(b"B5"), Some((5, 2)));
        assert_eq!(cell_ref(b"AA10"), Some((10, 27)));
        assert_eq!(cell_ref(b"5"), None);
        assert_eq!(number(b"99999999999999999999999"), Some(u64::MAX));
        assert_eq!(local_name(b"x:row r=\"1\""), b"row");
    }
}
