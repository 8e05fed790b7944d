//! What a transcript or result slip says, as a plain value: built from the student's
//! published results exactly as the results service serves them (GPAs, totals and the
//! class of degree as the results page prints them, so a change in how those are computed or
//! shown flows through), turned into canonical JSON, and hashed. The same function builds the
//! content at issue and again at verification, so "the results have changed since" is a
//! comparison of two hashes. Pure: no I/O, no clock.

use crate::services::results::{gpa_words, SemesterView, StudentResults};
use eportal_core::grading::ABSENT_GRADE;
use eportal_core::{AcademicSession, Semester};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentContent {
    /// `transcript` or `slip`.
    pub kind: String,
    pub institution: String,
    pub name: String,
    pub matric_no: String,
    pub programme: String,
    pub level: u16,
    /// The grading scale's name.
    pub grading: String,
    pub max_points: u8,
    pub semesters: Vec<TermContent>,
    /// The whole record's standing: on a transcript only (a slip's CGPA is its semester's).
    pub summary: Option<Summary>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TermContent {
    /// `2024/2025`.
    pub session: String,
    /// `first` or `second`.
    pub semester: String,
    pub courses: Vec<CourseContent>,
    pub units: u32,
    pub gpa: String,
    pub cgpa: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CourseContent {
    pub code: String,
    pub title: String,
    pub units: u8,
    pub ca: String,
    pub exam: String,
    pub total: String,
    /// CA + exam before rounding, when it differs from the graded total. Left out of the
    /// stored content when absent, so documents issued before it existed keep their hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exact_total: Option<String>,
    pub grade: String,
    pub points: u8,
    /// The UTC date an amendment changed the score, when one did (left out when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amended: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub cgpa: String,
    pub total_units: u32,
    pub class_of_degree: Option<String>,
}

fn term(s: &SemesterView) -> TermContent {
    TermContent {
        session: s.session.to_string(),
        semester: s.semester.to_string(),
        courses: s
            .courses
            .iter()
            .map(|c| CourseContent {
                code: c.code.clone(),
                title: c.title.clone(),
                units: c.units,
                ca: c.ca.to_string(),
                exam: if c.absent {
                    ABSENT_GRADE.to_string()
                } else {
                    c.exam.to_string()
                },
                total: c.total.to_string(),
                exact_total: (c.exact_total != c.total).then(|| c.exact_total.to_string()),
                grade: c.grade.clone(),
                points: c.points,
                amended: c.amended.as_ref().map(|m| m.on.clone()),
            })
            .collect(),
        units: s.units,
        // As the results page says it: "none" over no credit units, "withheld" while an
        // absence holds it.
        gpa: match &s.withheld {
            Some(_) => "withheld".to_string(),
            None => gpa_words(s.gpa),
        },
        cgpa: gpa_words(s.cgpa),
    }
}

fn base(institution: &str, r: &StudentResults, kind: &str) -> DocumentContent {
    DocumentContent {
        kind: kind.into(),
        institution: institution.into(),
        name: r.name.clone(),
        matric_no: r.matric_no.to_string(),
        programme: r.programme.clone(),
        level: r.level,
        grading: r.grading.clone(),
        max_points: r.max_points,
        semesters: Vec::new(),
        summary: None,
    }
}

impl DocumentContent {
    /// Every published semester with the CGPA and class of degree.
    pub fn transcript(institution: &str, r: &StudentResults) -> DocumentContent {
        DocumentContent {
            semesters: r.semesters.iter().map(term).collect(),
            summary: Some(Summary {
                cgpa: gpa_words(r.cgpa),
                total_units: r.total_units,
                class_of_degree: r.class_of_degree.clone(),
            }),
            ..base(institution, r, "transcript")
        }
    }

    /// One semester, or `None` when nothing of that semester is published.
    pub fn slip(
        institution: &str,
        r: &StudentResults,
        session: AcademicSession,
        semester: Semester,
    ) -> Option<DocumentContent> {
        let s = r
            .semesters
            .iter()
            .find(|s| s.session == session && s.semester == semester)?;
        Some(DocumentContent {
            semesters: vec![term(s)],
            ..base(institution, r, "slip")
        })
    }

    /// The canonical JSON of the content: fields in declaration order, no whitespace.
    pub fn canonical_json(&self) -> String {
        serde_json::to_string(self).expect("plain strings and numbers always serialise")
    }
}

/// SHA-256 of canonical JSON, lower-case hex.
pub fn sha256_hex(json: &str) -> String {
    hex::encode(Sha256::digest(json.as_bytes()))
}
