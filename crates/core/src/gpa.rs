//! GPA and CGPA, computed exactly: sums of units × points are integers, the division happens
//! once, at the end, with the policy's rounding to two decimal places. Nothing here may go
//! through `f64` or round an intermediate value: a GPA rounded twice can differ from the
//! GPA rounded once, and a student would see a different class of degree.

use crate::domain::{AcademicSession, CourseCode, Semester};
use crate::grading::{GpaRounding, GradingPolicy, RetakePolicy};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt;

/// A grade point average in hundredths (`357` is 3.57).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Gpa(u16);

impl Gpa {
    pub fn from_hundredths(h: u16) -> Self {
        Gpa(h)
    }

    pub fn hundredths(self) -> u16 {
        self.0
    }

    /// A whole number of grade points (`4` is 4.00), e.g. the top of a scale.
    pub fn from_points(points: u8) -> Self {
        Gpa(points as u16 * 100)
    }

    /// Parses `3.5`, `3.57` or `4`.
    pub fn parse(s: &str) -> Option<Self> {
        let t = s.trim();
        let (w, f) = t.split_once('.').unwrap_or((t, ""));
        if w.is_empty() || f.len() > 2 || !w.chars().chain(f.chars()).all(|c| c.is_ascii_digit()) {
            return None;
        }
        let w: u16 = w.parse().ok()?;
        let f: u16 = format!("{f:0<2}").parse().ok()?;
        w.checked_mul(100)?.checked_add(f).map(Gpa)
    }
}

impl fmt::Display for Gpa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}", self.0 / 100, self.0 % 100)
    }
}

impl Serialize for Gpa {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Gpa {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Gpa::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("'{s}' is not a GPA")))
    }
}

/// One graded attempt at a course, as it counts toward GPA.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    pub course: CourseCode,
    pub session: AcademicSession,
    pub semester: Semester,
    pub units: u8,
    pub points: u8,
}

/// Σ units and Σ (units × points): the exact state of a GPA before division.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Tally {
    pub units: u32,
    pub weighted: u32,
}

impl Tally {
    pub fn add(&mut self, units: u8, points: u8) {
        // Saturating: a record would need ~17 million courses to reach the limit; it must
        // still never wrap into a small, plausible-looking GPA.
        self.units = self.units.saturating_add(units as u32);
        self.weighted = self.weighted.saturating_add(units as u32 * points as u32);
    }

    pub fn of<'a>(attempts: impl IntoIterator<Item = &'a Attempt>) -> Tally {
        let mut t = Tally::default();
        for a in attempts {
            t.add(a.units, a.points);
        }
        t
    }

    /// weighted ÷ units to two decimal places; 0.00 when no units are graded.
    pub fn gpa(&self, rounding: GpaRounding) -> Gpa {
        if self.units == 0 {
            return Gpa(0);
        }
        let (n, d) = (self.weighted as u64 * 100, self.units as u64);
        let h = match rounding {
            GpaRounding::Truncate => n / d,
            GpaRounding::HalfUp => (2 * n + d) / (2 * d),
        };
        Gpa(u16::try_from(h).unwrap_or(u16::MAX))
    }
}

/// A GPA as people see it: none at all over zero credit units (a semester of zero-unit
/// courses only, or nothing graded yet), which must never read as 0.00, "failed everything".
pub fn over_units(tally: Tally, gpa: Gpa) -> Option<Gpa> {
    (tally.units > 0).then_some(gpa)
}

/// The GPA of a set of attempts (for a semester GPA, pass that semester's attempts).
pub fn gpa(attempts: &[Attempt], policy: &GradingPolicy) -> Gpa {
    Tally::of(attempts).gpa(policy.gpa_rounding)
}

/// The attempts that count toward the CGPA under the policy's retake rule.
///
/// Under `LatestReplaces`, two attempts of one course in the same term (a data error the
/// store should prevent) are resolved by keeping the better one, so that the result never
/// depends on the order the records were read in.
pub fn counted<'a>(attempts: &'a [Attempt], policy: &GradingPolicy) -> Vec<&'a Attempt> {
    match policy.retake {
        RetakePolicy::AllAttemptsCount => attempts.iter().collect(),
        RetakePolicy::LatestReplaces => {
            let rank = |a: &Attempt| (a.session, a.semester, a.points, a.units);
            let mut latest: HashMap<&CourseCode, &Attempt> = HashMap::new();
            for a in attempts {
                let e = latest.entry(&a.course).or_insert(a);
                if rank(a) > rank(e) {
                    *e = a;
                }
            }
            let mut v: Vec<&Attempt> = latest.into_values().collect();
            v.sort_by(|a, b| {
                (a.session, a.semester, &a.course).cmp(&(b.session, b.semester, &b.course))
            });
            v
        }
    }
}

/// The cumulative GPA over every attempt, applying the retake rule.
pub fn cgpa(attempts: &[Attempt], policy: &GradingPolicy) -> Gpa {
    Tally::of(counted(attempts, policy)).gpa(policy.gpa_rounding)
}

/// One semester's GPA with the CGPA as it stood at the end of that semester.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SemesterSummary {
    pub session: AcademicSession,
    pub semester: Semester,
    pub tally: Tally,
    pub gpa: Gpa,
    pub cumulative: Tally,
    pub cgpa: Gpa,
}

/// Every semester's GPA and running CGPA, in chronological order.
pub fn summarise(attempts: &[Attempt], policy: &GradingPolicy) -> Vec<SemesterSummary> {
    let mut terms: Vec<(AcademicSession, Semester)> =
        attempts.iter().map(|a| (a.session, a.semester)).collect();
    terms.sort();
    terms.dedup();
    summarise_terms(&terms, attempts, policy)
}

/// [`summarise`] for the given terms (sorted), also those with no graded attempt at all
/// (a semester whose only course result is an absence held as incomplete).
pub fn summarise_terms(
    terms: &[(AcademicSession, Semester)],
    attempts: &[Attempt],
    policy: &GradingPolicy,
) -> Vec<SemesterSummary> {
    terms
        .iter()
        .map(|&term| {
            let this: Vec<Attempt> = attempts
                .iter()
                .filter(|a| (a.session, a.semester) == term)
                .cloned()
                .collect();
            let so_far: Vec<Attempt> = attempts
                .iter()
                .filter(|a| (a.session, a.semester) <= term)
                .cloned()
                .collect();
            let tally = Tally::of(&this);
            let cumulative = Tally::of(counted(&so_far, policy));
            SemesterSummary {
                session: term.0,
                semester: term.1,
                tally,
                gpa: tally.gpa(policy.gpa_rounding),
                cumulative,
                cgpa: cumulative.gpa(policy.gpa_rounding),
            }
        })
        .collect()
}
