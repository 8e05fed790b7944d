//! Verification codes: 80 random bits as 16 characters of Crockford base32 (no I, L, O, U,
//! so nothing is misread), shown in groups of four (`7K2D-9QXM-4T1V-BC3N`) and accepted with
//! or without dashes or spaces, in either case, with the letters people confuse with digits
//! read as those digits. A code says nothing about its document: it is only a key.

use rand::RngCore;

const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Characters in a code (5 bits each: 80 bits).
pub const LEN: usize = 16;

/// A new random code, normalised (no dashes).
pub fn generate() -> String {
    let mut bytes = [0u8; 10];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let bits = bytes
        .iter()
        .fold(0u128, |acc, b| (acc << 8) | u128::from(*b));
    (0..LEN)
        .rev()
        .map(|i| ALPHABET[((bits >> (i * 5)) & 31) as usize] as char)
        .collect()
}

/// The code as people read it: groups of four joined by dashes.
pub fn grouped(code: &str) -> String {
    code.as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("-")
}

/// The normalised code of what someone typed, or `None` if it cannot be one.
pub fn normalise(typed: &str) -> Option<String> {
    let mut out = String::with_capacity(LEN);
    for c in typed.chars() {
        let c = match c.to_ascii_uppercase() {
            '-' | ' ' => continue,
            'O' => '0',
            'I' | 'L' => '1',
            c if ALPHABET.contains(&(c as u8)) && c.is_ascii() => c,
            _ => return None,
        };
        out.push(c);
        if out.len() > LEN {
            return None;
        }
    }
    (out.len() == LEN).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_sixteen_crockford_characters_and_differ() {
        let a = generate();
        let b = generate();
        assert_eq!(a.len(), LEN);
        assert!(a.bytes().all(|c| ALPHABET.contains(&c)), "{a}");
        assert_ne!(a, b);
        assert_eq!(normalise(&a).as_deref(), Some(a.as_str()));
    }

    #[test]
    fn typed_codes_are_read_leniently() {
        let code = "7K2D9QXM4T1VBC3N";
        assert_eq!(grouped(code), "7K2D-9QXM-4T1V-BC3N");
        for typed in [
            "7K2D-9QXM-4T1V-BC3N",
            "7k2d9qxm4t1vbc3n",
            " 7k2d 9qxm 4tlv bc3n ",
            "7K2D-9QXM-4TIV-BC3N",
        ] {
            assert_eq!(normalise(typed).as_deref(), Some(code), "{typed}");
        }
        assert_eq!(
            normalise("0O0o-0000-0000-0000").as_deref(),
            Some("0000000000000000")
        );
        for bad in [
            "",
            "7K2D",
            "7K2D-9QXM-4T1V-BC3N-0",
            "7K2D-9QXM-4T1V-BC3U",
            "ÉÉÉÉ",
        ] {
            assert_eq!(normalise(bad), None, "{bad}");
        }
    }
}
