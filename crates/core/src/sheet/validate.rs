//! Judging each row of a parsed sheet.
use super::parse::ParsedSheet;
use crate::domain::{MatricNo, Score};
use crate::grading::GradingPolicy;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// Of the matric numbers on a sheet: which students exist, and which are registered for
/// the sheet's course in its term.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Roster {
    pub known: HashSet<MatricNo>,
    pub registered: HashSet<MatricNo>,
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

pub fn validate(_sheet: &ParsedSheet, _roster: &Roster, _policy: &GradingPolicy) -> Validated {
    unimplemented!("row validation")
}
