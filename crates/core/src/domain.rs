//! Validated domain values, parsed once at the boundary (HTTP, CSV import, sheet rows).
//!
//! Each type's `parse` accepts the spellings people actually type (lower case, stray spaces)
//! and normalises them, so the rest of the system compares canonical values only.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Why a value typed by a person is not acceptable, in words that person can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);

fn err<T>(msg: impl Into<String>) -> Result<T, ParseError> {
    Err(ParseError(msg.into()))
}

macro_rules! string_newtype {
    ($name:ident) => {
        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl FromStr for $name {
            type Err = ParseError;
            fn from_str(s: &str) -> Result<Self, ParseError> {
                Self::parse(s)
            }
        }
        impl TryFrom<String> for $name {
            type Error = ParseError;
            fn try_from(s: String) -> Result<Self, ParseError> {
                Self::parse(&s)
            }
        }
        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }
    };
}

/// A student's matriculation (registration) number, e.g. `SCI/2021/0042` or `190401023`.
/// Upper-cased, trimmed; letters, digits and `/ - .` only.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MatricNo(String);

impl MatricNo {
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let t = s.trim().to_ascii_uppercase();
        if t.is_empty() {
            return err("matric number is empty");
        }
        if t.len() > 32 {
            return err(format!("matric number '{t}' is longer than 32 characters"));
        }
        if !t
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '.'))
        {
            return err(format!(
                "matric number '{}' may contain only letters, digits, '/', '-' and '.'",
                s.trim()
            ));
        }
        Ok(MatricNo(t))
    }
}
string_newtype!(MatricNo);

/// A course code such as `CSC 201` or `MTH101`; stored as letters, one space, digits
/// (`CSC 201`), so `csc201`, `CSC-201` and `CSC  201` are the same course.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CourseCode(String);

impl CourseCode {
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let compact: String = s
            .trim()
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-' && *c != '_')
            .collect::<String>()
            .to_ascii_uppercase();
        let letters: String = compact
            .chars()
            .take_while(|c| c.is_ascii_alphabetic())
            .collect();
        let rest = &compact[letters.len()..];
        if letters.len() < 2 || letters.len() > 4 || rest.is_empty() || rest.len() > 4 {
            return err(format!(
                "course code '{}' should look like 'CSC 201' (2-4 letters, then up to 4 digits)",
                s.trim()
            ));
        }
        if !rest.chars().all(|c| c.is_ascii_digit()) {
            return err(format!(
                "course code '{}' should look like 'CSC 201' (2-4 letters, then up to 4 digits)",
                s.trim()
            ));
        }
        Ok(CourseCode(format!("{letters} {rest}")))
    }
}
string_newtype!(CourseCode);

/// An academic session such as `2024/2025`, identified by the year it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AcademicSession {
    start_year: u16,
}

impl AcademicSession {
    pub fn new(start_year: u16) -> Result<Self, ParseError> {
        if !(1948..=2200).contains(&start_year) {
            return err(format!("session start year {start_year} is out of range"));
        }
        Ok(AcademicSession { start_year })
    }

    pub fn start_year(self) -> u16 {
        self.start_year
    }

    /// Accepts `2024/2025`, `2024-2025`, `2024/25` and `2024`.
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let t = s.trim();
        let bad = || ParseError(format!("session '{t}' should look like '2024/2025'"));
        let (a, b) = match t.split_once(['/', '-']) {
            Some((a, b)) => (a.trim(), Some(b.trim())),
            None => (t, None),
        };
        let start: u16 = a.parse().map_err(|_| bad())?;
        if let Some(b) = b {
            let end: u16 = b.parse().map_err(|_| bad())?;
            let ok = if b.len() == 2 {
                end == (start + 1) % 100
            } else {
                end == start + 1
            };
            if !ok {
                return Err(ParseError(format!(
                    "session '{t}' should span two consecutive years, like '{start}/{}'",
                    start + 1
                )));
            }
        }
        Self::new(start)
    }
}

impl fmt::Display for AcademicSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.start_year, self.start_year + 1)
    }
}

impl FromStr for AcademicSession {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, ParseError> {
        Self::parse(s)
    }
}

impl Serialize for AcademicSession {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for AcademicSession {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// First or second semester of a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Semester {
    First,
    Second,
}

impl Semester {
    pub fn number(self) -> u8 {
        match self {
            Semester::First => 1,
            Semester::Second => 2,
        }
    }

    pub fn from_number(n: i64) -> Result<Self, ParseError> {
        match n {
            1 => Ok(Semester::First),
            2 => Ok(Semester::Second),
            _ => err(format!("semester {n} should be 1 or 2")),
        }
    }

    /// Accepts `1`, `2`, `first`, `second`, `1st`, `2nd` (any case).
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "1" | "first" | "1st" | "harmattan" => Ok(Semester::First),
            "2" | "second" | "2nd" | "rain" => Ok(Semester::Second),
            other => err(format!("semester '{other}' should be 'first' or 'second'")),
        }
    }
}

impl fmt::Display for Semester {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Semester::First => "first",
            Semester::Second => "second",
        })
    }
}

impl FromStr for Semester {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, ParseError> {
        Self::parse(s)
    }
}

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

    pub fn from_marks(m: u16) -> Self {
        Score(m * 10)
    }

    pub fn tenths(self) -> u16 {
        self.0
    }

    /// Parses `67`, `67.5`, ` 67.0 ` (numbers stored as text included). More than one decimal
    /// place, negatives and non-numbers are errors.
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let t = s.trim();
        let bad = || ParseError(format!("'{t}' is not a number"));
        if t.is_empty() {
            return err("score is empty");
        }
        if t.starts_with('-') {
            return err(format!("{t} is negative"));
        }
        let (whole, frac) = match t.split_once('.') {
            Some((w, f)) => (w, f),
            None => (t, ""),
        };
        let whole = if whole.is_empty() { "0" } else { whole };
        if !whole.chars().all(|c| c.is_ascii_digit()) || !frac.chars().all(|c| c.is_ascii_digit())
        {
            return Err(bad());
        }
        let frac = frac.trim_end_matches('0');
        if frac.len() > 1 {
            return err(format!("{t} has more than one decimal place"));
        }
        let w: u32 = whole.parse().map_err(|_| bad())?;
        let f: u32 = if frac.is_empty() { 0 } else { frac.parse().map_err(|_| bad())? };
        let tenths = w.checked_mul(10).and_then(|x| x.checked_add(f));
        match tenths {
            Some(v) if v <= u16::MAX as u32 => Ok(Score(v as u16)),
            _ => err(format!("{t} is far too large")),
        }
    }

    pub fn checked_add(self, other: Score) -> Option<Score> {
        self.0.checked_add(other.0).map(Score)
    }
}

impl fmt::Display for Score {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 % 10 == 0 {
            write!(f, "{}", self.0 / 10)
        } else {
            write!(f, "{}.{}", self.0 / 10, self.0 % 10)
        }
    }
}

/// What a signed-in person may do. Staff may hold several roles (a lecturer who is also HOD).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Student,
    Lecturer,
    /// Head of department: first review of a course result.
    Hod,
    /// Dean, for the faculty board: second review.
    Dean,
    /// Senate / registrar: final approval and publication.
    Senate,
    /// Registry administrator: people, courses, sessions, policy.
    Admin,
}

impl Role {
    pub const ALL: [Role; 6] = [
        Role::Student,
        Role::Lecturer,
        Role::Hod,
        Role::Dean,
        Role::Senate,
        Role::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Student => "student",
            Role::Lecturer => "lecturer",
            Role::Hod => "hod",
            Role::Dean => "dean",
            Role::Senate => "senate",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let t = s.trim().to_ascii_lowercase();
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == t)
            .ok_or_else(|| {
                ParseError(format!(
                    "role '{}' should be one of student, lecturer, hod, dean, senate, admin",
                    s.trim()
                ))
            })
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
