//! The two pure steps of a regrade, run by any number of workers over partitions of the
//! records: **map** grades records under a [`PolicyBook`] (each by the policy of its student
//! and session), **reduce** turns one student's graded records into their semester results
//! (GPA, CGPA) under that student's policy. Grouping map output by student (the shuffle) is
//! the store's part: each graded row carries its student's reduce partition.
//!
//! The same two functions grade a university from scratch, so a regrade and a fresh
//! grading cannot disagree.

use crate::domain::{AcademicSession, CourseCode, MatricNo, Score, Semester};
use crate::gpa::{summarise, Attempt};
use crate::grading::ABSENT_GRADE;
use crate::model::SemesterResult;
use crate::policy_book::PolicyBook;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One current score record as a regrade sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegradeRow {
    pub matric: MatricNo,
    pub course: CourseCode,
    pub session: AcademicSession,
    pub semester: Semester,
    pub units: u8,
    pub total: Score,
    /// The score record's version when it was read: a row graded from an older score is
    /// not used once the score has changed.
    pub score_version: u32,
    /// The student's entry session (their cohort).
    pub entry: AcademicSession,
    pub grade: String,
    pub points: u8,
}

impl RegradeRow {
    /// A current record as the regrade sees it, with its student's entry session.
    pub fn of(r: &crate::model::CourseRecord, entry: AcademicSession) -> RegradeRow {
        RegradeRow {
            matric: r.matric_no.clone(),
            course: r.course_code.clone(),
            session: r.session,
            semester: r.semester,
            units: r.units,
            total: r.total,
            score_version: r.version,
            entry,
            grade: r.grade.clone(),
            points: r.points,
        }
    }

    pub fn absent(&self) -> bool {
        self.grade == ABSENT_GRADE
    }
}

/// The grade and points of a row under `book`: an absence stays `ABS` with 0 points whatever
/// the policy; any other total is graded by the policy of that student and session.
pub fn grade(book: &PolicyBook, row: &RegradeRow) -> (String, u8) {
    if row.absent() {
        return (ABSENT_GRADE.to_string(), 0);
    }
    let g = book.for_record(row.entry, row.session).grade(row.total);
    (g.grade, g.points)
}

/// Map: grades every row under `book`, in place; returns how many rows changed grade or
/// points.
pub fn map(book: &PolicyBook, rows: &mut [RegradeRow]) -> u64 {
    let mut changed = 0;
    for row in rows.iter_mut() {
        let (g, p) = grade(book, row);
        if g != row.grade || p != row.points {
            changed += 1;
            row.grade = g;
            row.points = p;
        }
    }
    changed
}

/// Reduce: the semester results of every student among `rows` (graded rows, in any order),
/// each under their own policy, ordered by student, session and semester.
pub fn reduce(book: &PolicyBook, rows: &[RegradeRow]) -> Vec<SemesterResult> {
    let mut by_student: BTreeMap<&MatricNo, Vec<&RegradeRow>> = BTreeMap::new();
    for r in rows {
        by_student.entry(&r.matric).or_default().push(r);
    }
    let mut out = Vec::new();
    for (matric, list) in by_student {
        let attempts: Vec<Attempt> = list
            .iter()
            .map(|r| Attempt {
                course: r.course.clone(),
                session: r.session,
                semester: r.semester,
                units: r.units,
                points: r.points,
            })
            .collect();
        let policy = book.for_student(list[0].entry);
        out.extend(
            summarise(&attempts, policy)
                .into_iter()
                .map(|s| SemesterResult {
                    matric_no: matric.clone(),
                    session: s.session,
                    semester: s.semester,
                    units: s.tally.units,
                    weighted_points: s.tally.weighted,
                    gpa: s.gpa,
                    cumulative_units: s.cumulative.units,
                    cumulative_weighted_points: s.cumulative.weighted,
                    cgpa: s.cgpa,
                }),
        );
    }
    out
}

#[cfg(test)]
mod tests;
