//! Plain records of the university (people, courses, registrations, results) as the core and
//! every adapter see them. Fields are already-validated domain values. These are records,
//! not rules: nothing here may compute a grade or a GPA (that is `grading` and `gpa`), and
//! nothing here may print a password hash.

use crate::domain::{AcademicSession, CourseCode, MatricNo, Role, Score, Semester};
use crate::gpa::Gpa;
use crate::workflow::WorkflowState;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Institution {
    pub name: String,
    pub short_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Faculty {
    pub code: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Department {
    pub code: String,
    pub name: String,
    pub faculty_code: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Programme {
    pub code: String,
    pub name: String,
    pub department_code: String,
    pub duration_years: u8,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Student {
    pub matric_no: MatricNo,
    pub surname: String,
    pub first_name: String,
    pub programme_code: String,
    /// 100, 200, … 600.
    pub level: u16,
    pub entry_session: AcademicSession,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Staff {
    pub staff_id: String,
    pub name: String,
    pub department_code: String,
    pub roles: Vec<Role>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Course {
    pub code: CourseCode,
    pub title: String,
    pub units: u8,
    pub department_code: String,
    pub level: u16,
    pub semester: Semester,
}

/// Which lecturer teaches (and uploads the sheet of) a course in a term.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Allocation {
    pub course_code: CourseCode,
    pub session: AcademicSession,
    pub semester: Semester,
    pub staff_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Registration {
    pub matric_no: MatricNo,
    pub course_code: CourseCode,
    pub session: AcademicSession,
    pub semester: Semester,
}

/// A sign-in account. Students sign in with their matric number, staff with their staff id,
/// the registry administrator as `admin`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserAccount {
    pub username: String,
    /// An argon2id PHC string; never the password.
    pub password_hash: String,
    pub display_name: String,
    pub roles: Vec<Role>,
}

impl std::fmt::Debug for UserAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserAccount")
            .field("username", &self.username)
            .field("password_hash", &"<redacted>")
            .field("roles", &self.roles)
            .finish()
    }
}

/// The term a course result belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CourseTerm {
    pub course_code: CourseCode,
    pub session: AcademicSession,
    pub semester: Semester,
}

/// One student's current score in one course in one term, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CourseRecord {
    pub matric_no: MatricNo,
    pub course_code: CourseCode,
    pub course_title: String,
    pub units: u8,
    pub session: AcademicSession,
    pub semester: Semester,
    pub ca: Score,
    pub exam: Score,
    pub total: Score,
    pub grade: String,
    pub points: u8,
    /// 1 for the first sheet that carried this score, +1 for every later change.
    pub version: u32,
    pub sheet_id: i64,
    pub state: WorkflowState,
    /// Set when this score came from an amendment of the published result.
    #[serde(default)]
    pub amended: Option<AmendedMark>,
}

/// The mark on a score that an amendment set: which amendment, and when it was applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AmendedMark {
    pub amendment_id: i64,
    pub at_ms: i64,
}

/// A student's stored semester result: the semester's tally and GPA, and the running CGPA.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SemesterResult {
    pub matric_no: MatricNo,
    pub session: AcademicSession,
    pub semester: Semester,
    pub units: u32,
    pub weighted_points: u32,
    pub gpa: Gpa,
    pub cumulative_units: u32,
    pub cumulative_weighted_points: u32,
    pub cgpa: Gpa,
}
