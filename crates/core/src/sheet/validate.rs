//! Judging each row of a parsed sheet against the roster and the grading policy.
//!
//! Every row ends in exactly one of `accepted` or `rejected`, with one reason, checked in a
//! fixed order (matric number, duplicates, roster, registration, scores) so a lecturer fixing
//! a row sees the first thing wrong with it. This module must never let any part of a
//! rejected row into an accepted one, and never guess a score that was not written.

use super::parse::{ParsedSheet, RawRow};
use super::scores::{judge_scores, Judged};
use crate::domain::{AcademicSession, MatricNo, Score};
use crate::grading::{GradingPolicy, ABSENT_GRADE};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};

/// Of the matric numbers on a sheet: which students exist, and which are registered for
/// the sheet's course in its term.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Roster {
    pub known: HashSet<MatricNo>,
    pub registered: HashSet<MatricNo>,
    /// The entry session (cohort) of each known student, which says their grading policy.
    pub entry: HashMap<MatricNo, AcademicSession>,
}

/// A row that will become a score record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcceptedRow {
    pub row: usize,
    pub matric: MatricNo,
    pub ca: Score,
    pub exam: Score,
    pub total: Score,
    pub grade: String,
    pub points: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RowErrorKind {
    MissingMatric,
    InvalidMatric,
    UnknownStudent,
    NotRegistered,
    NotANumber,
    OutOfRange,
    /// No exam score: the student was absent.
    Absent,
    /// No CA score: the result is incomplete.
    Incomplete,
    Duplicate,
}

/// A rejected row: its row number, what it said, and why it was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowError {
    pub row: usize,
    pub matric: Option<String>,
    pub kind: RowErrorKind,
    pub message: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validated {
    pub accepted: Vec<AcceptedRow>,
    pub rejected: Vec<RowError>,
}

/// Judges every row under one policy; the result lists accepted and rejected rows in sheet
/// order.
pub fn validate(sheet: &ParsedSheet, roster: &Roster, policy: &GradingPolicy) -> Validated {
    validate_by(sheet, roster, &|_| policy)
}

/// Judges every row, each student's scores under the policy `policy_of` gives for them
/// (their cohort's, from a [`crate::PolicyBook`]).
pub fn validate_by<'p>(
    sheet: &ParsedSheet,
    roster: &Roster,
    policy_of: &dyn Fn(&MatricNo) -> &'p GradingPolicy,
) -> Validated {
    let rows: Vec<&RawRow> = sheet.rows.iter().filter(|r| !is_blank(r)).collect();
    let parsed: Vec<_> = rows.iter().map(|r| MatricNo::parse(&r.matric)).collect();
    let matrics: Vec<Option<&MatricNo>> = parsed.iter().map(|m| m.as_ref().ok()).collect();
    let duplicates = duplicate_verdicts(&rows, &matrics);
    let mut out = Validated::default();
    for (i, raw) in rows.iter().enumerate() {
        let reject = |kind: RowErrorKind, why: String| RowError {
            row: raw.row,
            matric: Some(raw.matric.trim().to_string()).filter(|m| !m.is_empty()),
            kind,
            message: format!("row {}: {why}", raw.row),
        };
        let matric = match &parsed[i] {
            Ok(m) => m.clone(),
            Err(_) if raw.matric.trim().is_empty() => {
                out.rejected.push(reject(
                    RowErrorKind::MissingMatric,
                    "the matric number is missing".into(),
                ));
                continue;
            }
            Err(e) => {
                out.rejected
                    .push(reject(RowErrorKind::InvalidMatric, e.to_string()));
                continue;
            }
        };
        if let Some(why) = duplicates.get(&i) {
            out.rejected
                .push(reject(RowErrorKind::Duplicate, why.clone()));
            continue;
        }
        if !roster.known.contains(&matric) {
            out.rejected.push(reject(
                RowErrorKind::UnknownStudent,
                format!("no student has the matric number {matric}; check it for typing errors"),
            ));
            continue;
        }
        if !roster.registered.contains(&matric) {
            out.rejected.push(reject(
                RowErrorKind::NotRegistered,
                format!("student {matric} is not registered for this course in this semester"),
            ));
            continue;
        }
        let policy = policy_of(&matric);
        match judge_scores(&raw.ca, &raw.exam, policy) {
            Judged::Rejected(kind, why) => out.rejected.push(reject(kind, why)),
            // Recorded, not left out: how an absence counts is decided where GPAs are.
            Judged::Absent { ca } => out.accepted.push(AcceptedRow {
                row: raw.row,
                matric,
                ca,
                exam: Score::ZERO,
                total: ca,
                grade: ABSENT_GRADE.to_string(),
                points: 0,
            }),
            Judged::Accepted { ca, exam, total } => {
                let graded = policy.grade(total);
                out.accepted.push(AcceptedRow {
                    row: raw.row,
                    matric,
                    ca,
                    exam,
                    total,
                    grade: graded.grade,
                    points: graded.points,
                });
            }
        }
    }
    out
}

fn is_blank(r: &RawRow) -> bool {
    r.matric.trim().is_empty() && r.ca.trim().is_empty() && r.exam.trim().is_empty()
}

/// For each row index that is a duplicate, why it is rejected. Rows repeating an earlier row
/// exactly are dropped as copies ("same as row 4") and the first is judged as usual; rows of
/// one student with different scores are all rejected, since nobody can tell which is right.
fn duplicate_verdicts(rows: &[&RawRow], matrics: &[Option<&MatricNo>]) -> HashMap<usize, String> {
    let mut groups: HashMap<&MatricNo, Vec<usize>> = HashMap::new();
    for (i, m) in matrics.iter().enumerate() {
        if let Some(m) = m {
            groups.entry(*m).or_default().push(i);
        }
    }
    let mut verdicts = HashMap::new();
    for (matric, idx) in groups.into_iter().filter(|(_, idx)| idx.len() > 1) {
        let first = idx[0];
        let same = idx[1..].iter().all(|&j| same_scores(rows[first], rows[j]));
        if same {
            for &j in &idx[1..] {
                verdicts.insert(
                    j,
                    format!(
                        "{matric} is listed again, same as row {}; delete this copy",
                        rows[first].row
                    ),
                );
            }
        } else {
            let numbers: Vec<String> = idx.iter().map(|&j| rows[j].row.to_string()).collect();
            let list = match numbers.as_slice() {
                [init @ .., last] => format!("{} and {last}", init.join(", ")),
                [] => String::new(),
            };
            for &j in &idx {
                verdicts.insert(
                    j,
                    format!("{matric} appears on rows {list} with different scores; keep only the correct row"),
                );
            }
        }
    }
    verdicts
}

/// Same scores, however written ("67" and "67.0" are the same mark).
fn same_scores(a: &RawRow, b: &RawRow) -> bool {
    let same = |x: &str, y: &str| match (Score::parse(x), Score::parse(y)) {
        (Ok(p), Ok(q)) => p == q,
        _ => x.trim() == y.trim(),
    };
    same(&a.ca, &b.ca) && same(&a.exam, &b.exam)
}
