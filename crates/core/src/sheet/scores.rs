//! Judging one row's CA and exam scores against the policy's maxima.
//!
//! This module must never accept a score it had to guess: empty, unreadable, negative,
//! over-precise or too-high scores are each refused with their own reason.

use super::validate::RowErrorKind;
use crate::domain::Score;
use crate::grading::GradingPolicy;

pub(super) enum Judged {
    Accepted {
        ca: Score,
        exam: Score,
        total: Score,
    },
    /// `ABS` in the exam column: recorded as absent, with the CA if one was given.
    Absent {
        ca: Score,
    },
    Rejected(RowErrorKind, String),
}

/// Words lecturers write in the exam column for a student who did not sit the exam.
const ABSENT_WORDS: [&str; 3] = ["ab", "abs", "absent"];

pub(super) fn judge_scores(ca: &str, exam: &str, policy: &GradingPolicy) -> Judged {
    let (ca, exam) = (ca.trim(), exam.trim());
    if ABSENT_WORDS.contains(&exam.to_ascii_lowercase().as_str()) {
        if ca.is_empty() {
            return Judged::Absent { ca: Score::ZERO };
        }
        return match score("CA", ca, policy.ca_max) {
            Ok(ca) => Judged::Absent { ca },
            Err((kind, why)) => Judged::Rejected(kind, why),
        };
    }
    if exam.is_empty() {
        return Judged::Rejected(
            RowErrorKind::Absent,
            "there is no exam score; enter it, or write ABS if the student was absent from the exam".into(),
        );
    }
    if ca.is_empty() {
        return Judged::Rejected(
            RowErrorKind::Incomplete,
            "there is no CA score, so the result is incomplete; enter the CA score (0 if the student has none)".into(),
        );
    }
    // Every "not a number" is reported before any "out of range", CA before exam.
    let (ca, exam) = (
        score("CA", ca, policy.ca_max),
        score("exam", exam, policy.exam_max),
    );
    let (ca, exam) = match (ca, exam) {
        (Ok(ca), Ok(exam)) => (ca, exam),
        (Err(e), _) | (_, Err(e)) if e.0 == RowErrorKind::NotANumber => {
            return Judged::Rejected(e.0, e.1)
        }
        (Err(e), _) | (_, Err(e)) => return Judged::Rejected(e.0, e.1),
    };
    match ca.checked_add(exam) {
        Some(total) => Judged::Accepted { ca, exam, total },
        // Both are within their maxima, whose sum a valid policy keeps at or below 100.
        None => Judged::Rejected(
            RowErrorKind::OutOfRange,
            format!("CA {ca} plus exam {exam} is above the highest possible total"),
        ),
    }
}

fn score(what: &str, text: &str, max: Score) -> Result<Score, (RowErrorKind, String)> {
    let above = |shown: &str| {
        (
            RowErrorKind::OutOfRange,
            format!("{what} score {shown} is above the maximum of {max}"),
        )
    };
    let t = decimal_point(text);
    match Score::parse(&t) {
        Ok(s) if s > max => Err(above(&s.to_string())),
        Ok(s) => Ok(s),
        Err(_) => Err(match plain_number(&t) {
            Some(Plain { negative: true, .. }) => (
                RowErrorKind::OutOfRange,
                format!("{what} score {text} is below 0"),
            ),
            Some(Plain { decimals, .. }) if decimals > 1 => (
                RowErrorKind::NotANumber,
                format!("{what} score {text} has more than one decimal place; round it to one"),
            ),
            Some(_) => above(text),
            None => (
                RowErrorKind::NotANumber,
                format!("{what} score '{text}' is not a number"),
            ),
        }),
    }
}

/// "67,5" as written where a comma is the decimal mark; anything else unchanged.
fn decimal_point(t: &str) -> String {
    match t.split_once(',') {
        Some((w, f))
            if !w.is_empty()
                && (1..=2).contains(&f.len())
                && w.chars().all(|c| c.is_ascii_digit())
                && f.chars().all(|c| c.is_ascii_digit()) =>
        {
            format!("{w}.{f}")
        }
        _ => t.to_string(),
    }
}

struct Plain {
    negative: bool,
    /// Significant decimal places (trailing zeros do not count).
    decimals: usize,
}

/// Whether the text is a number at all (`-5`, `67.25`, `.5`), whatever its range.
fn plain_number(t: &str) -> Option<Plain> {
    let (negative, body) = match t.strip_prefix('-') {
        Some(rest) => (true, rest.trim_start()),
        None => (false, t),
    };
    let (whole, frac) = body.split_once('.').unwrap_or((body, ""));
    let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    if whole.len() + frac.len() == 0 || !digits(whole) || !digits(frac) {
        return None;
    }
    Some(Plain {
        negative,
        decimals: frac.trim_end_matches('0').len(),
    })
}
