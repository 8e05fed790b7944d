//! Recognising a sheet's header: which cell names the matric-number column, which the CA and
//! which the exam column, whatever spelling, case, punctuation or maximum ("CA (40)",
//! "EXAM/60") the lecturer used.
//!
//! This module must never pick a column by position or by a loose substring match: a title
//! such as "CSC 201 Examination Results" is not an exam column, and "Test 1" is not "Test".

use std::fmt;

/// The three columns a sheet must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    // Explicit: the discriminants index per-column arrays, in `ALL` order.
    Matric = 0,
    Ca = 1,
    Exam = 2,
}

impl Column {
    pub const ALL: [Column; 3] = [Column::Matric, Column::Ca, Column::Exam];

    /// How the column is named to a lecturer in messages.
    pub fn label(self) -> &'static str {
        match self {
            Column::Matric => "Matric No",
            Column::Ca => "CA",
            Column::Exam => "Exam",
        }
    }
}

impl fmt::Display for Column {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

const MATRIC: &[&str] = &[
    "matric",
    "matricno",
    "matricnum",
    "matricnumber",
    "matriculationno",
    "matriculationnumber",
    "regno",
    "regnum",
    "regnumber",
    "registrationno",
    "registrationnumber",
    "studentid",
    "studentno",
    "studentnumber",
    "matricregno",
];
const CA: &[&str] = &[
    "ca",
    "cascore",
    "test",
    "testscore",
    "continuousassessment",
    "continuousassessmentscore",
];
const EXAM: &[&str] = &[
    "exam",
    "exams",
    "examscore",
    "examination",
    "examinationscore",
];

/// Which of the three columns a header cell names, if any.
pub fn classify(cell: &str) -> Option<Column> {
    let key = normalise(cell);
    if MATRIC.contains(&key.as_str()) {
        Some(Column::Matric)
    } else if CA.contains(&key.as_str()) {
        Some(Column::Ca)
    } else if EXAM.contains(&key.as_str()) {
        Some(Column::Exam)
    } else {
        None
    }
}

/// Lower-case letters and digits only, after removing a stated maximum: bracketed notes
/// ("(40)", "[60 marks]", "(40%)") anywhere, and a trailing "/60", "out of 60" or "max 60".
fn normalise(cell: &str) -> String {
    let mut s = String::with_capacity(cell.len());
    let mut depth = 0usize;
    for c in cell.chars() {
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            _ if depth == 0 => s.extend(c.to_lowercase()),
            _ => {}
        }
    }
    let mut s = s.trim().to_string();
    if let Some((head, tail)) = s.rsplit_once('/') {
        if is_maximum(tail) {
            s = head.trim().to_string();
        }
    }
    for marker in ["out of", "maximum", "max.", "max", "over"] {
        if let Some((head, tail)) = s.rsplit_once(marker) {
            if is_maximum(tail) && !head.trim().is_empty() {
                s = head.trim().to_string();
            }
        }
    }
    s.chars().filter(|c| c.is_alphanumeric()).collect()
}

/// "60", " 40 ", "60%", "60 marks".
fn is_maximum(t: &str) -> bool {
    let t = t
        .trim()
        .trim_end_matches("marks")
        .trim_end_matches('%')
        .trim();
    !t.is_empty() && t.chars().all(|c| c.is_ascii_digit() || c == '.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_lecturers_use() {
        for m in [
            "Matric No",
            "MATRIC NUMBER",
            "Matric. No.",
            "Reg No",
            "Reg. Number",
            "Registration Number",
            "Matriculation Number",
            "Student ID",
            "matric_no",
        ] {
            assert_eq!(classify(m), Some(Column::Matric), "{m}");
        }
        for c in [
            "CA",
            "C.A.",
            "CA (40)",
            "CA/40",
            "Test",
            "Continuous Assessment",
            "CA Score",
            "Test Score (40%)",
            "CA out of 40",
        ] {
            assert_eq!(classify(c), Some(Column::Ca), "{c}");
        }
        for e in [
            "Exam",
            "EXAM/60",
            "Examination",
            "Exam Score",
            "Exam [60 marks]",
            "exam max 60",
        ] {
            assert_eq!(classify(e), Some(Column::Exam), "{e}");
        }
    }

    #[test]
    fn not_columns() {
        for x in [
            "S/N",
            "Name",
            "Total",
            "Grade",
            "Test 1",
            "CSC 201 Examination Results",
            "",
            "/60",
            "Exam date",
        ] {
            assert_eq!(classify(x), None, "{x}");
        }
    }
}
