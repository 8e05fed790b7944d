//! Validated domain values, parsed once at the boundary (HTTP, CSV import, sheet rows).
//!
//! Each type's `parse` accepts the spellings people actually type (lower case, stray spaces)
//! and normalises them, so the rest of the system compares canonical values only. A value
//! that fails to parse must never be "fixed up" into a different valid one (a score of
//! "67,5" is refused with a hint, not read as 675); the error says what to type instead.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

mod score;
pub use score::Score;

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
        if s.trim().is_empty() {
            return err("course code is empty");
        }
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
        // Digits only: `u16::from_str` would also take "+2024", which nobody means.
        let year = |y: &str| -> Result<u16, ParseError> {
            if y.is_empty() || y.len() > 4 || !y.bytes().all(|c| c.is_ascii_digit()) {
                return Err(bad());
            }
            y.parse().map_err(|_| bad())
        };
        // The range check comes first so the arithmetic below cannot overflow.
        let session = Self::new(year(a)?)?;
        let start = session.start_year;
        if let Some(b) = b {
            let end = year(b)?;
            let ok = match b.len() {
                2 => end == (start + 1) % 100,
                4 => end == start + 1,
                _ => false,
            };
            if !ok {
                return Err(ParseError(format!(
                    "session '{t}' should span two consecutive years, like '{start}/{}'",
                    start + 1
                )));
            }
        }
        Ok(session)
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

    /// Accepts `1`, `2`, `first`, `second`, `1st`, `2nd`, `harmattan`, `rain` (any case),
    /// with or without the word "semester" around them (`First Semester`, `semester 2`).
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let lower = s.trim().to_ascii_lowercase();
        let words: Vec<&str> = lower
            .split_whitespace()
            .filter(|w| !matches!(*w, "semester" | "sem" | "sem."))
            .collect();
        match words.as_slice() {
            ["1" | "first" | "1st" | "harmattan"] => Ok(Semester::First),
            ["2" | "second" | "2nd" | "rain"] => Ok(Semester::Second),
            _ => err(format!(
                "semester '{}' should be 'first' or 'second' (or 1 or 2)",
                s.trim()
            )),
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

    /// How the role is named to people, in messages ("only the HOD may approve …").
    pub fn title(self) -> &'static str {
        match self {
            Role::Student => "student",
            Role::Lecturer => "lecturer",
            Role::Hod => "HOD",
            Role::Dean => "dean",
            Role::Senate => "senate",
            Role::Admin => "registry administrator",
        }
    }

    /// Accepts the canonical names in any case, and the words registries use for them
    /// ("Head of Department", "registrar", "administrator").
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let t = s
            .trim()
            .to_ascii_lowercase()
            .split(|c: char| c.is_whitespace() || c == '_' || c == '-')
            .filter(|w| !w.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        let alias = match t.as_str() {
            "head of department" | "h.o.d" | "h.o.d." => Some(Role::Hod),
            "registrar" => Some(Role::Senate),
            "administrator" | "registry admin" | "registry administrator" => Some(Role::Admin),
            _ => None,
        };
        alias
            .or_else(|| Role::ALL.into_iter().find(|r| r.as_str() == t))
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
