//! Scores in tenths of a mark, as lecturers type them into score sheets.
//!
//! A score must never pass through `f64`: "67.5" becomes the integer 675 here, once, so that
//! CA + exam totals and grade boundaries (69.5 against 70) are exact everywhere after.

use super::{err, ParseError};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A score in tenths of a mark (`675` is 67.5). Sheets may carry integers or one decimal;
/// keeping tenths as an integer means no total is ever off by a float rounding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Score(u16);

impl Score {
    pub const ZERO: Score = Score(0);

    pub fn from_tenths(t: u16) -> Self {
        Score(t)
    }

    /// A whole number of marks.
    ///
    /// # Panics
    /// If `m` is above 6553 (the largest score representable in tenths); no policy comes
    /// near that, and scores typed by people go through [`Score::parse`], which refuses it.
    pub fn from_marks(m: u16) -> Self {
        Score(m.checked_mul(10).expect("a score of at most 6553 marks"))
    }

    pub fn tenths(self) -> u16 {
        self.0
    }

    /// Parses `67`, `67.5`, ` 67.0 ` (numbers stored as text included). More than one decimal
    /// place, negatives and non-numbers are errors.
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let t = s.trim();
        let bad = || ParseError(format!("score '{t}' is not a number"));
        if t.is_empty() {
            return err("score is empty");
        }
        if t.starts_with('-') {
            return err(format!("score {t} is negative"));
        }
        if t.contains(',') && Score::parse(&t.replacen(',', ".", 1)).is_ok() {
            return err(format!(
                "score '{t}' uses a decimal comma; write it with a point, like '{}'",
                t.replacen(',', ".", 1)
            ));
        }
        let (whole, frac) = match t.split_once('.') {
            Some((w, f)) => (w, f),
            None => (t, ""),
        };
        // ".5" is a half mark as spreadsheets write it, but "." alone is not a number.
        if whole.is_empty() && frac.is_empty() {
            return Err(bad());
        }
        let whole = if whole.is_empty() { "0" } else { whole };
        if !whole.chars().all(|c| c.is_ascii_digit()) || !frac.chars().all(|c| c.is_ascii_digit()) {
            return Err(bad());
        }
        let frac = frac.trim_end_matches('0');
        if frac.len() > 1 {
            return err(format!("score {t} has more than one decimal place"));
        }
        let w: u32 = whole.parse().map_err(|_| bad())?;
        let f: u32 = if frac.is_empty() {
            0
        } else {
            frac.parse().map_err(|_| bad())?
        };
        let tenths = w.checked_mul(10).and_then(|x| x.checked_add(f));
        match tenths {
            Some(v) if v <= u16::MAX as u32 => Ok(Score(v as u16)),
            _ => err(format!("score {t} is far too large")),
        }
    }

    pub fn checked_add(self, other: Score) -> Option<Score> {
        self.0.checked_add(other.0).map(Score)
    }
}

impl FromStr for Score {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, ParseError> {
        Self::parse(s)
    }
}

impl fmt::Display for Score {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 % 10 {
            0 => write!(f, "{}", self.0 / 10),
            tenth => write!(f, "{}.{tenth}", self.0 / 10),
        }
    }
}
