//! Grading policy over time: a [`PolicyBook`] is every policy an institution grades under at
//! one version — the default, overrides for students admitted from a given session (a
//! cohort), and overrides for results from a given session — and says which one applies.
//!
//! Two questions have two answers:
//! - **a record's grade and points** (bands, pass mark, rounding of totals) follow the
//!   results override for the record's session if there is one, else the student's cohort
//!   policy, else the default ([`PolicyBook::for_record`]);
//! - **a student's GPAs, CGPA and class** (GPA rounding, retakes, absences, classes of
//!   degree) follow the student's cohort policy, else the default
//!   ([`PolicyBook::for_student`]).
//!
//! "From a session" means that session and every later one, up to the next override of the
//! same kind. A book is never changed once stored: a change is a new book with a higher
//! version, and results are computed under one book at a time, never a mix of two.

use crate::domain::{AcademicSession, MatricNo};
use crate::grading::{GradingPolicy, PolicyError};
use serde::{Deserialize, Serialize};

/// A policy that applies from a session on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopedPolicy {
    pub from: AcademicSession,
    pub policy: GradingPolicy,
}

/// Where a policy applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "from", rename_all = "snake_case")]
pub enum PolicyScope {
    /// Every student and record no override covers.
    Default,
    /// Students admitted in this session or later.
    Cohort(AcademicSession),
    /// Results of this session or later (grades and points only).
    Results(AcademicSession),
}

impl PolicyScope {
    /// Reads `default`, `cohort:2025/2026` or `results:2025/2026`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("default") {
            return Ok(PolicyScope::Default);
        }
        let (kind, from) = s.split_once(':').ok_or_else(|| {
            format!("scope {s:?} is not default, cohort:SESSION or results:SESSION (sessions are written 2025/2026)")
        })?;
        let from = AcademicSession::parse(from.trim())
            .map_err(|e| format!("scope {s:?}: {e} (sessions are written 2025/2026)"))?;
        match kind.trim().to_ascii_lowercase().as_str() {
            "cohort" => Ok(PolicyScope::Cohort(from)),
            "results" => Ok(PolicyScope::Results(from)),
            other => Err(format!(
                "scope kind {other:?} is not cohort or results (for the institution's own policy write default)"
            )),
        }
    }

    /// How people read it: "the default", "students admitted from 2025/2026", …
    pub fn words(&self) -> String {
        match self {
            PolicyScope::Default => "the default".into(),
            PolicyScope::Cohort(s) => format!("students admitted from {s}"),
            PolicyScope::Results(s) => format!("results from {s}"),
        }
    }
}

/// Every grading policy of an institution at one version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyBook {
    /// 0 for a book not (yet) stored: the built-in default of a new installation.
    #[serde(default)]
    pub version: u32,
    pub default: GradingPolicy,
    /// Overrides for students admitted from a session on, in any order.
    #[serde(default)]
    pub cohorts: Vec<ScopedPolicy>,
    /// Overrides for results from a session on, in any order.
    #[serde(default)]
    pub results: Vec<ScopedPolicy>,
}

impl Default for PolicyBook {
    fn default() -> Self {
        PolicyBook::single(GradingPolicy::default())
    }
}

impl From<GradingPolicy> for PolicyBook {
    fn from(p: GradingPolicy) -> Self {
        PolicyBook::single(p)
    }
}

/// Which policy applies from `at`: the override with the latest `from` not after `at`.
fn latest_from(list: &[ScopedPolicy], at: AcademicSession) -> Option<&GradingPolicy> {
    list.iter()
        .filter(|s| s.from <= at)
        .max_by_key(|s| s.from)
        .map(|s| &s.policy)
}

impl PolicyBook {
    /// One policy for everyone, not yet stored (version 0).
    pub fn single(policy: GradingPolicy) -> Self {
        PolicyBook {
            version: 0,
            default: policy,
            cohorts: Vec::new(),
            results: Vec::new(),
        }
    }

    /// The policy of a student's GPAs, CGPA and class: their cohort's, else the default.
    pub fn for_student(&self, entry: AcademicSession) -> &GradingPolicy {
        latest_from(&self.cohorts, entry).unwrap_or(&self.default)
    }

    /// The policy a record of `session` of a student admitted in `entry` is graded under.
    pub fn for_record(&self, entry: AcademicSession, session: AcademicSession) -> &GradingPolicy {
        latest_from(&self.results, session).unwrap_or_else(|| self.for_student(entry))
    }

    /// The policy of a session's results where no cohort override applies: the results
    /// override for the session, else the default (what a course's score sheet template
    /// and its reviewers' grade bands follow).
    pub fn for_session(&self, session: AcademicSession) -> &GradingPolicy {
        latest_from(&self.results, session).unwrap_or(&self.default)
    }

    /// The policy stored for exactly this scope, if any.
    pub fn get(&self, scope: PolicyScope) -> Option<&GradingPolicy> {
        match scope {
            PolicyScope::Default => Some(&self.default),
            PolicyScope::Cohort(from) => self
                .cohorts
                .iter()
                .find(|s| s.from == from)
                .map(|s| &s.policy),
            PolicyScope::Results(from) => self
                .results
                .iter()
                .find(|s| s.from == from)
                .map(|s| &s.policy),
        }
    }

    /// This book with `policy` set for `scope` (replacing one there), as a new, unstored
    /// book (version 0).
    pub fn with(&self, scope: PolicyScope, policy: GradingPolicy) -> PolicyBook {
        let mut next = self.clone();
        next.version = 0;
        let put = |list: &mut Vec<ScopedPolicy>, from: AcademicSession, policy| {
            list.retain(|s| s.from != from);
            list.push(ScopedPolicy { from, policy });
            list.sort_by_key(|s| s.from);
        };
        match scope {
            PolicyScope::Default => next.default = policy,
            PolicyScope::Cohort(from) => put(&mut next.cohorts, from, policy),
            PolicyScope::Results(from) => put(&mut next.results, from, policy),
        }
        next
    }

    /// The book that setting `policy` for `scope` makes of this one, checked: `None` when
    /// `scope` already has exactly this policy (nothing would change).
    pub fn proposal(
        &self,
        scope: PolicyScope,
        policy: GradingPolicy,
    ) -> Result<Option<PolicyBook>, BookError> {
        if self.get(scope) == Some(&policy) {
            return Ok(None);
        }
        let next = self.with(scope, policy);
        next.validate()?;
        Ok(Some(next))
    }

    /// This book without the override for `scope` (the default cannot be removed).
    pub fn without(&self, scope: PolicyScope) -> Option<PolicyBook> {
        let mut next = self.clone();
        next.version = 0;
        let before = next.cohorts.len() + next.results.len();
        match scope {
            PolicyScope::Default => return None,
            PolicyScope::Cohort(from) => next.cohorts.retain(|s| s.from != from),
            PolicyScope::Results(from) => next.results.retain(|s| s.from != from),
        }
        (next.cohorts.len() + next.results.len() < before).then_some(next)
    }

    /// Every policy of the book is valid, and no session has two overrides of one kind.
    pub fn validate(&self) -> Result<(), BookError> {
        let check = |scope: PolicyScope, p: &GradingPolicy| {
            p.validate()
                .map_err(|error| BookError::Policy { scope, error })
        };
        check(PolicyScope::Default, &self.default)?;
        for (list, scope) in [
            (
                &self.cohorts,
                PolicyScope::Cohort as fn(AcademicSession) -> PolicyScope,
            ),
            (&self.results, PolicyScope::Results),
        ] {
            for (i, s) in list.iter().enumerate() {
                check(scope(s.from), &s.policy)?;
                if list[..i].iter().any(|o| o.from == s.from) {
                    return Err(BookError::TwoOverrides(scope(s.from)));
                }
            }
        }
        // A CGPA adds the points of a student's records: a results override on another
        // points scale than a student's own policy would add points of two scales.
        let students = std::iter::once(&self.default).chain(self.cohorts.iter().map(|s| &s.policy));
        let scales: std::collections::BTreeSet<u8> =
            students.map(GradingPolicy::max_points).collect();
        for s in &self.results {
            let max = s.policy.max_points();
            if scales.iter().any(|&m| m != max) {
                return Err(BookError::ResultsScale {
                    from: s.from,
                    max,
                    students: scales.iter().copied().find(|&m| m != max).unwrap_or(max),
                });
            }
        }
        Ok(())
    }

    /// Reads a stored book, refusing one that is not valid.
    pub fn from_json(s: &str) -> Result<Self, String> {
        let b: PolicyBook =
            serde_json::from_str(s).map_err(|e| format!("unreadable policy book: {e}"))?;
        b.validate().map_err(|e| e.to_string())?;
        Ok(b)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("policy books always serialise")
    }

    /// Whether a student admitted in `entry` is graded differently under `other`: their
    /// student policy differs, or the policy of a record in any of `sessions` does.
    pub fn differs_for(
        &self,
        other: &PolicyBook,
        entry: AcademicSession,
        sessions: &[AcademicSession],
    ) -> bool {
        self.for_student(entry) != other.for_student(entry)
            || sessions
                .iter()
                .any(|&s| self.for_record(entry, s) != other.for_record(entry, s))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BookError {
    #[error("the grading policy for {} is not valid: {error}", .scope.words())]
    Policy {
        scope: PolicyScope,
        error: PolicyError,
    },
    #[error("there are two policies for {}", .0.words())]
    TwoOverrides(PolicyScope),
    #[error(
        "the policy for results from {from} gives up to {max} points, but students' own policies \
         give up to {students}: a CGPA would add points of two scales. A results override \
         corrects grade bands on the same scale; to change the scale, set it for a cohort \
         (cohort:SESSION)"
    )]
    ResultsScale {
        from: AcademicSession,
        max: u8,
        students: u8,
    },
}

/// A partition number in `0..parts` for a key, the same in every process, build and
/// platform (FNV-1a, 64 bits): the regrade's map tasks split course results this way and
/// its reduce tasks split students, so any worker can compute where a key belongs.
pub fn partition(key: &str, parts: u32) -> u32 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    (h % u64::from(parts.max(1))) as u32
}

/// The map partition of a course result.
pub fn term_partition(term: &crate::model::CourseTerm, parts: u32) -> u32 {
    partition(
        &format!(
            "{}|{}|{}",
            term.course_code,
            term.session.start_year(),
            term.semester.number()
        ),
        parts,
    )
}

/// The reduce partition of a student.
pub fn student_partition(matric: &MatricNo, parts: u32) -> u32 {
    partition(matric.as_str(), parts)
}

#[cfg(test)]
mod tests;
