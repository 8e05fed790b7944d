//! Short excerpts of untrusted text, for messages and stored row errors: whatever a cell or
//! a file name holds, what is kept of it is bounded.
//!
//! It must never cut inside a character, and never return more than `max` characters plus
//! the "…" that says something was cut.

/// `text` itself if it has at most `max` characters, else its first `max` characters and "…".
pub fn excerpt(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_string(),
        Some((cut, _)) => format!("{}…", &text[..cut]),
    }
}

#[cfg(test)]
mod tests {
    use super::excerpt;

    #[test]
    fn long_text_is_cut_at_a_character_with_an_ellipsis() {
        assert_eq!(excerpt("SCI/001", 40), "SCI/001");
        assert_eq!(excerpt(&"é".repeat(41), 40), format!("{}…", "é".repeat(40)));
        assert_eq!(excerpt(&"x".repeat(40), 40), "x".repeat(40));
    }
}
