//! How the pages put things into words: a service's message as a sentence, a time as a UTC
//! date, a size in bytes as people read it. Shared by every page, so the same thing reads
//! the same way everywhere.

/// A service's message as a sentence: the API's field prefix ("new_password: …") dropped,
/// the first letter upper-cased, a full stop at the end.
pub fn sentence(message: &str) -> String {
    let message = message.trim();
    let m = match message.split_once(": ") {
        Some((field, rest))
            if !field.contains(' ')
                && field.chars().all(|c| c.is_ascii_lowercase() || c == '_') =>
        {
            rest
        }
        _ => message,
    };
    let mut c = m.chars();
    let mut s = c
        .next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default();
    if !s.ends_with(['.', '!', '?']) {
        s.push('.');
    }
    s
}

/// `ms` since the Unix epoch as `2025-05-01 14:03 UTC`.
pub fn utc(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Days to a civil date (Howard Hinnant's algorithm, proleptic Gregorian).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        rest / 3600,
        rest % 3600 / 60
    )
}

/// `ms` since the Unix epoch as the UTC date, `2025-05-01`.
pub fn date(ms: i64) -> String {
    utc(ms)[..10].to_string()
}

/// A size in bytes as people read it ("5 MB", "1.5 MB", "512 KB"), worded as everywhere else
/// a size is (the sheet reader's own limits included).
pub fn size_words(bytes: usize) -> String {
    eportal_core::sheet::Size(bytes as u64).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_shown_in_utc_to_the_minute() {
        assert_eq!(utc(0), "1970-01-01 00:00 UTC");
        // 2024-02-29 13:45:30 UTC and 23:59:59.999 UTC, a leap day.
        assert_eq!(utc(1_709_214_330_000), "2024-02-29 13:45 UTC");
        assert_eq!(utc(1_709_251_199_999), "2024-02-29 23:59 UTC");
        assert_eq!(utc(1_709_251_200_000), "2024-03-01 00:00 UTC");
        assert_eq!(utc(1_735_689_600_000), "2025-01-01 00:00 UTC");
        assert_eq!(utc(-1), "1969-12-31 23:59 UTC");
    }

    #[test]
    fn service_messages_read_as_sentences() {
        assert_eq!(
            sentence("new_password: give at least 12 characters"),
            "Give at least 12 characters."
        );
        assert_eq!(
            sentence(" no account is named 'x' "),
            "No account is named 'x'."
        );
        assert_eq!(
            sentence("the file is not UTF-8: line 3"),
            "The file is not UTF-8: line 3."
        );
        assert_eq!(sentence("Stop!"), "Stop!");
    }

    #[test]
    fn sizes_read_in_mb_and_kb() {
        assert_eq!(size_words(5 * 1024 * 1024), "5 MB");
        assert_eq!(size_words(3 * 512 * 1024), "1.5 MB");
        assert_eq!(size_words(1500), "2 KB");
        assert_eq!(size_words(900), "900 bytes");
    }
}
