//! One course's row in a semester's table of results, as the results page and the verify
//! page show it (`templates/semester_row.html`): the graded total with the exact one beside
//! it when rounding changed it, `ABS` for an absence, and the mark of an amended score.
//! Built from the results view or from an issued document's content, so both pages read
//! the same.

use crate::services::documents::content::CourseContent;
use crate::services::results::CourseLine;

pub(super) struct Row {
    pub code: String,
    pub title: String,
    pub units: u8,
    pub ca: String,
    pub exam: String,
    pub total: String,
    /// CA + exam before rounding, when it differs from the graded total.
    pub exact_total: Option<String>,
    pub grade: String,
    pub points: u8,
    /// The date an amendment changed the score, when one did.
    pub amended: Option<String>,
}

impl Row {
    pub(super) fn of_line(c: CourseLine) -> Row {
        Row {
            exam: if c.absent {
                eportal_core::grading::ABSENT_GRADE.to_string()
            } else {
                c.exam.to_string()
            },
            total: c.total.to_string(),
            exact_total: (c.exact_total != c.total).then(|| c.exact_total.to_string()),
            amended: c.amended.map(|m| m.on),
            code: c.code,
            title: c.title,
            units: c.units,
            ca: c.ca.to_string(),
            grade: c.grade,
            points: c.points,
        }
    }

    pub(super) fn of_content(c: &CourseContent) -> Row {
        Row {
            code: c.code.clone(),
            title: c.title.clone(),
            units: c.units,
            ca: c.ca.clone(),
            exam: c.exam.clone(),
            total: c.total.clone(),
            exact_total: c.exact_total.clone(),
            grade: c.grade.clone(),
            points: c.points,
            amended: c.amended.clone(),
        }
    }
}
