//! What a lecturer's pages need: the courses allocated to them, term by term, with where each
//! course's result and latest score sheet stand; a course's class list; a score-sheet
//! template prefilled with that class; and the history of the course's sheets.
//!
//! Who may see a course's class, template and sheets is decided here, with the same scope
//! rules as the course result itself ([`super::scope`]): the lecturer allocated to it in that
//! term, and the reviewers (HOD, dean, senate, registry) whose department or faculty it
//! belongs to. Students and lecturers of other courses are refused. This module never
//! changes anything.

use super::{Principal, ServiceError, ServiceResult, Services};
use eportal_core::model::{Course, CourseTerm};
use eportal_core::workflow::WorkflowState;
use eportal_core::{AcademicSession, Score, Semester};
use eportal_ports::{SheetStatus, SheetSummary};
use std::collections::HashMap;

/// A course the signed-in lecturer teaches in one term.
#[derive(Debug, Clone)]
pub struct TaughtCourse {
    pub term: CourseTerm,
    pub title: String,
    pub units: u8,
    pub level: u16,
    pub department_code: String,
    pub department_name: Option<String>,
    pub state: WorkflowState,
    /// The newest sheet uploaded for the course in that term, if any.
    pub latest_sheet: Option<(i64, SheetStatus)>,
}

/// One registered student, as a class list shows them.
#[derive(Debug, Clone)]
pub struct ClassMember {
    pub matric_no: String,
    pub surname: String,
    pub first_name: String,
    pub level: u16,
    pub programme_code: String,
}

/// A course's class in one term.
#[derive(Debug, Clone)]
pub struct ClassList {
    pub course: Course,
    pub term: CourseTerm,
    pub students: Vec<ClassMember>,
}

/// What a score-sheet template is made of: the class and the policy's maxima.
#[derive(Debug, Clone)]
pub struct TemplateData {
    pub class: ClassList,
    pub ca_max: Score,
    pub exam_max: Score,
}

/// One sheet of a course's history.
#[derive(Debug, Clone)]
pub struct SheetEntry {
    pub sheet: SheetSummary,
    /// The uploader's name on the staff list (none for an account that is not staff).
    pub uploader_name: Option<String>,
}

impl Services {
    /// The courses allocated to `who`, newest term first (then by course code), limited to
    /// one session and/or semester when asked. Someone allocated to nothing gets an empty
    /// list (reviewers' work is in their review queue, not here).
    pub async fn my_courses(
        &self,
        who: &Principal,
        session: Option<AcademicSession>,
        semester: Option<Semester>,
    ) -> ServiceResult<Vec<TaughtCourse>> {
        let store = &self.ports.store;
        let mut terms: Vec<CourseTerm> = store
            .allocations_of(&who.username)
            .await?
            .into_iter()
            .filter(|t| session.is_none_or(|s| t.session == s))
            .filter(|t| semester.is_none_or(|s| t.semester == s))
            .collect();
        if terms.is_empty() {
            return Ok(Vec::new());
        }
        terms.sort_by(|a, b| {
            (b.session, b.semester)
                .cmp(&(a.session, a.semester))
                .then(a.course_code.as_str().cmp(b.course_code.as_str()))
        });
        let departments: HashMap<String, String> = store
            .departments()
            .await?
            .into_iter()
            .map(|d| (d.code, d.name))
            .collect();
        let mut courses: HashMap<String, Course> = HashMap::new();
        let mut out = Vec::with_capacity(terms.len());
        for term in terms {
            let key = term.course_code.as_str().to_string();
            if !courses.contains_key(&key) {
                let Some(c) = store.course(&term.course_code).await? else {
                    // An allocation always names a known course (the store checks it); a
                    // course deleted since would have nothing to show.
                    continue;
                };
                courses.insert(key.clone(), c);
            }
            let course = &courses[&key];
            let state = store.course_result(&term).await?.state;
            let latest_sheet = store
                .sheets_for(&term)
                .await?
                .first()
                .map(|s| (s.id, s.status));
            out.push(TaughtCourse {
                title: course.title.clone(),
                units: course.units,
                level: course.level,
                department_name: departments.get(&course.department_code).cloned(),
                department_code: course.department_code.clone(),
                state,
                latest_sheet,
                term,
            });
        }
        Ok(out)
    }

    /// The course of `term`, if `who` is its lecturer then or one of its reviewers and the
    /// course is taught in that term; `what` names the thing asked for in the refusal.
    async fn course_in_scope(
        &self,
        who: &Principal,
        term: &CourseTerm,
        what: &str,
    ) -> ServiceResult<Course> {
        let store = &self.ports.store;
        let course = store.course(&term.course_code).await?.ok_or_else(|| {
            ServiceError::NotFound(format!("course {} does not exist", term.course_code))
        })?;
        if self.roles_for(who, term, &course).await?.is_empty() {
            return Err(ServiceError::Forbidden(format!(
                "only the lecturer of {} in {} {} semester, the HOD of its department, the dean of its faculty, senate and the registry may see its {what}",
                course.code, term.session, term.semester
            )));
        }
        if store.allocations(term).await?.is_empty() {
            return Err(ServiceError::NotFound(format!(
                "{} is not taught in the {} semester of {}, so it has no {what} then",
                course.code, term.semester, term.session
            )));
        }
        Ok(course)
    }

    /// The students registered for the course in that term, by matric number.
    pub async fn class_list(&self, who: &Principal, term: &CourseTerm) -> ServiceResult<ClassList> {
        let course = self.course_in_scope(who, term, "class list").await?;
        let students = self
            .ports
            .store
            .registered_students(term)
            .await?
            .into_iter()
            .map(|s| ClassMember {
                matric_no: s.matric_no.to_string(),
                surname: s.surname,
                first_name: s.first_name,
                level: s.level,
                programme_code: s.programme_code,
            })
            .collect();
        Ok(ClassList {
            course,
            term: term.clone(),
            students,
        })
    }

    /// The class and the grading policy's maxima, for a score-sheet template.
    pub async fn sheet_template(
        &self,
        who: &Principal,
        term: &CourseTerm,
    ) -> ServiceResult<TemplateData> {
        let class = self.class_list(who, term).await?;
        let book = self.policies.active().await?;
        let policy = book.for_session(term.session);
        Ok(TemplateData {
            class,
            ca_max: policy.ca_max,
            exam_max: policy.exam_max,
        })
    }

    /// Every sheet uploaded for the course in that term, newest first, with the name of
    /// the staff member who uploaded each.
    pub async fn sheet_history(
        &self,
        who: &Principal,
        term: &CourseTerm,
    ) -> ServiceResult<Vec<SheetEntry>> {
        self.course_in_scope(who, term, "score sheets").await?;
        let store = &self.ports.store;
        let sheets = store.sheets_for(term).await?;
        let mut names: HashMap<String, Option<String>> = HashMap::new();
        let mut out = Vec::with_capacity(sheets.len());
        for sheet in sheets {
            if !names.contains_key(&sheet.uploaded_by) {
                let name = store.staff(&sheet.uploaded_by).await?.map(|s| s.name);
                names.insert(sheet.uploaded_by.clone(), name);
            }
            out.push(SheetEntry {
                uploader_name: names[&sheet.uploaded_by].clone(),
                sheet,
            });
        }
        Ok(out)
    }
}
