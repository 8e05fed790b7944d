//! A reviewer's queue: the course results waiting for the person asking (an HOD's
//! department's at the HOD step, a dean's faculty's at the dean step, senate's at the senate
//! step and those approved and waiting to be published), each with what a reviewer reads
//! before deciding: the number of students, the grade distribution under the institution's
//! policy, the pass rate, and the lecturer's sheet history; and one result as its reviewer
//! reads it before deciding ([`Services::review_item`]), with the steps they may take on it.
//!
//! Whether a result is in someone's queue is decided by the same checks as acting on it
//! ([`super::scope`], [`super::duties`], the core's state machine): a result they may not act
//! on is never listed, and one escalated past conflicted reviewers is in the next one's. This
//! module must never hold a rule of its own about who may review what.

use super::teaching::SheetEntry;
use super::workflow::CourseResultDetail;
use super::{Principal, ServiceError, ServiceResult, Services};
use eportal_core::model::{CourseRecord, CourseTerm};
use eportal_core::workflow::{self, Action, WorkflowState};
use eportal_core::{AcademicSession, MatricNo, PolicyBook, Role};
use eportal_ports::store::SheetSummary;
use eportal_ports::SheetStatus;
use serde::Serialize;
use std::collections::HashMap;

/// The states a result waits in for a reviewer, in the order of the chain.
const WAITING: [WorkflowState; 4] = [
    WorkflowState::Submitted,
    WorkflowState::HodApproved,
    WorkflowState::FacultyApproved,
    WorkflowState::SenateApproved,
];

/// How many students earned one grade.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GradeCount {
    pub grade: String,
    pub count: u32,
}

/// A lecturer allocated to the course in the term.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Lecturer {
    pub staff_id: String,
    pub name: Option<String>,
}

/// The course's score sheets for the term, in short.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SheetHistory {
    pub sheets: u32,
    pub latest_status: Option<SheetStatus>,
    pub latest_uploaded_at_ms: Option<i64>,
}

/// One course result waiting for the reviewer.
#[derive(Debug, Clone, Serialize)]
pub struct QueueItem {
    pub term: CourseTerm,
    pub course_title: String,
    pub department_code: String,
    pub lecturers: Vec<Lecturer>,
    pub state: WorkflowState,
    /// What the reviewer does next: `approve` or (senate, once approved) `publish`.
    pub action: &'static str,
    pub students: u32,
    /// Every grade of the policy, best first, with how many students earned it.
    pub distribution: Vec<GradeCount>,
    pub passed: u32,
    /// Passed ÷ students × 100, to one decimal place; `null` with no students.
    pub pass_rate_percent: Option<f64>,
    pub sheet_history: SheetHistory,
    pub waiting_since_ms: i64,
}

/// The grade distribution and the number who passed: every grade of the session's policy
/// (its results override, else the default), best first, then any other grade a student's
/// own policy gave; each record graded again from its total under its student's policy in
/// `book` (`entry` says each student's entry session), so the bands a reviewer reads are
/// those of the active book.
pub fn distribution(
    book: &PolicyBook,
    session: AcademicSession,
    records: &[CourseRecord],
    entry: &HashMap<MatricNo, AcademicSession>,
) -> (Vec<GradeCount>, u32) {
    let listed = book.for_session(session);
    let mut bands: Vec<_> = listed.bands.iter().collect();
    bands.sort_by_key(|b| std::cmp::Reverse(b.min_total));
    let mut counts: Vec<GradeCount> = bands
        .iter()
        .map(|b| GradeCount {
            grade: b.grade.clone(),
            count: 0,
        })
        .collect();
    let mut passed = 0;
    for r in records {
        let policy = entry
            .get(&r.matric_no)
            .map_or(listed, |&e| book.for_record(e, session));
        let g = policy.grade(r.total);
        if g.passed {
            passed += 1;
        }
        match counts.iter_mut().find(|c| c.grade == g.grade) {
            Some(c) => c.count += 1,
            None => counts.push(GradeCount {
                grade: g.grade,
                count: 1,
            }),
        }
    }
    (counts, passed)
}

fn pass_rate(passed: u32, students: u32) -> Option<f64> {
    (students > 0).then(|| (f64::from(passed) * 1000.0 / f64::from(students)).round() / 10.0)
}

fn history(sheets: &[SheetSummary]) -> SheetHistory {
    // The store lists a term's sheets newest first.
    let latest = sheets.first();
    SheetHistory {
        sheets: u32::try_from(sheets.len()).unwrap_or(u32::MAX),
        latest_status: latest.map(|s| s.status),
        latest_uploaded_at_ms: latest.map(|s| s.uploaded_at_ms),
    }
}

impl Services {
    /// [`distribution`] of a course result's records under the active book.
    async fn distribution_of(
        &self,
        term: &CourseTerm,
        records: &[CourseRecord],
    ) -> ServiceResult<(Vec<GradeCount>, u32)> {
        let book = self.policies.active().await?;
        let entry = self
            .ports
            .store
            .registered_students(term)
            .await?
            .into_iter()
            .map(|s| (s.matric_no, s.entry_session))
            .collect();
        Ok(distribution(&book, term.session, records, &entry))
    }

    /// The course results `who` may act on now, oldest waiting first. Only HODs, deans and
    /// senate have a queue.
    pub async fn review_queue(&self, who: &Principal) -> ServiceResult<Vec<QueueItem>> {
        if !(who.has(Role::Hod) || who.has(Role::Dean) || who.has(Role::Senate)) {
            return Err(ServiceError::Forbidden(
                "only HODs, deans and senate have a review queue".into(),
            ));
        }
        let store = &self.ports.store;
        let mut items = Vec::new();
        for state in WAITING {
            for current in store.course_results_in(state).await? {
                let action = if state == WorkflowState::SenateApproved {
                    Action::Publish
                } else {
                    Action::Approve
                };
                let term = current.term.clone();
                let Some(course) = store.course(&term.course_code).await? else {
                    continue;
                };
                let mut roles = self.roles_for(who, &term, &course).await?;
                if roles.is_empty() {
                    continue;
                }
                match self
                    .check_duties(who, &term, &course, &current, &action, &mut roles)
                    .await
                {
                    Ok(()) => {}
                    // They had a hand in it: it is someone else's to review.
                    Err(ServiceError::Forbidden(_)) => continue,
                    Err(e) => return Err(e),
                }
                if workflow::next(state, &action, &roles).is_err() {
                    continue;
                }
                let records = store.course_records(&term).await?;
                let (distribution, passed) = self.distribution_of(&term, &records).await?;
                let students = u32::try_from(records.len()).unwrap_or(u32::MAX);
                let lecturers = self.lecturers(&term).await?;
                items.push(QueueItem {
                    course_title: course.title.clone(),
                    department_code: course.department_code.clone(),
                    lecturers,
                    state,
                    action: action.name(),
                    students,
                    distribution,
                    passed,
                    pass_rate_percent: pass_rate(passed, students),
                    sheet_history: history(&store.sheets_for(&term).await?),
                    waiting_since_ms: current.updated_at_ms,
                    term,
                });
            }
        }
        items.sort_by_key(|i| i.waiting_since_ms);
        Ok(items)
    }

    async fn lecturers(&self, term: &CourseTerm) -> ServiceResult<Vec<Lecturer>> {
        let store = &self.ports.store;
        let mut lecturers = Vec::new();
        for staff_id in store.allocations(term).await? {
            let name = store.staff(&staff_id).await?.map(|s| s.name);
            lecturers.push(Lecturer { staff_id, name });
        }
        Ok(lecturers)
    }

    /// One course result as a reviewer reads it before deciding, whether or not it is
    /// waiting for them: its state and records, the numbers of the queue, every score sheet
    /// of the term, and the steps `who` may take on it now, found by the same checks as
    /// taking them ([`Services::course_action`]). Only its reviewers (the HOD of its
    /// department, the dean of its faculty, senate, the registry) may read it here.
    pub async fn review_item(
        &self,
        who: &Principal,
        term: &CourseTerm,
    ) -> ServiceResult<ReviewItem> {
        // The course result's own checks first: 404 for an unknown course or term, 403 for
        // someone with no part in it.
        let detail = self.course_result_detail(who, term).await?;
        let store = &self.ports.store;
        let course = store.course(&term.course_code).await?.ok_or_else(|| {
            ServiceError::NotFound(format!("course {} does not exist", term.course_code))
        })?;
        if self
            .review_roles_in(who, &course.department_code)
            .await?
            .is_empty()
        {
            return Err(ServiceError::Forbidden(format!(
                "only the HOD of its department, the dean of its faculty, senate and the registry review {}; its lecturer follows it from their courses",
                course.code
            )));
        }
        let roles = self.roles_for(who, term, &course).await?;
        let mut actions = Vec::new();
        let mut held_back = None;
        // Any reason will do here: whether a return needs one is asked when it is sent.
        let candidates = [
            Action::Approve,
            Action::Return {
                reason: "reason".into(),
            },
            Action::Publish,
        ];
        for action in candidates {
            let mut roles = roles.clone();
            match self
                .check_duties(who, term, &course, &detail.state, &action, &mut roles)
                .await
            {
                Ok(()) => {}
                Err(ServiceError::Forbidden(m)) => {
                    held_back.get_or_insert(m);
                    continue;
                }
                Err(e) => return Err(e),
            }
            if workflow::next(detail.state.state, &action, &roles).is_ok() {
                actions.push(action.name());
            }
        }
        let (distribution, passed) = self.distribution_of(term, &detail.records).await?;
        let students = u32::try_from(detail.records.len()).unwrap_or(u32::MAX);
        Ok(ReviewItem {
            course_title: course.title.clone(),
            department_code: course.department_code.clone(),
            lecturers: self.lecturers(term).await?,
            students,
            distribution,
            passed,
            pass_rate_percent: pass_rate(passed, students),
            sheets: self.sheet_history(who, term).await?,
            actions,
            held_back,
            detail,
        })
    }
}

/// A course result as [`Services::review_item`] shows it to a reviewer.
#[derive(Debug, Clone)]
pub struct ReviewItem {
    pub course_title: String,
    pub department_code: String,
    pub lecturers: Vec<Lecturer>,
    pub detail: CourseResultDetail,
    pub students: u32,
    /// Every grade of the policy, best first, with how many students earned it.
    pub distribution: Vec<GradeCount>,
    pub passed: u32,
    pub pass_rate_percent: Option<f64>,
    /// Every score sheet of the term, newest first.
    pub sheets: Vec<SheetEntry>,
    /// What `who` may do now: `approve`, `return`, `publish` (none when it is not their step).
    pub actions: Vec<&'static str>,
    /// Why separation of duties keeps `who` from acting on it, and who can instead.
    pub held_back: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(matric: &str, total: u16) -> CourseRecord {
        CourseRecord {
            matric_no: MatricNo::parse(matric).unwrap(),
            course_code: eportal_core::CourseCode::parse("CSC201").unwrap(),
            course_title: "Data Structures".into(),
            units: 3,
            session: AcademicSession::new(2024).unwrap(),
            semester: eportal_core::Semester::First,
            ca: eportal_core::Score::ZERO,
            exam: eportal_core::Score::from_marks(total),
            total: eportal_core::Score::from_marks(total),
            grade: String::new(),
            points: 0,
            version: 1,
            sheet_id: 1,
            state: WorkflowState::Submitted,
            amended: None,
        }
    }

    #[test]
    fn each_student_is_counted_under_their_cohorts_policy() {
        // The default is the 5-point scale; students admitted from 2024/2025 have the 5-point
        // scale without E (F below 45). 42 is E for the 2023 student (a pass) and F for the
        // 2024 one (a fail); 72 is A for both.
        let s = |y| AcademicSession::new(y).unwrap();
        let book = PolicyBook::default().with(
            eportal_core::PolicyScope::Cohort(s(2024)),
            eportal_core::GradingPolicy::five_point_without_e(),
        );
        let records = [
            record("SCI/2023/0001", 42),
            record("SCI/2024/0001", 42),
            record("SCI/2024/0002", 72),
        ];
        let entry = HashMap::from([
            (records[0].matric_no.clone(), s(2023)),
            (records[1].matric_no.clone(), s(2024)),
            (records[2].matric_no.clone(), s(2024)),
        ]);
        let (counts, passed) = distribution(&book, s(2024), &records, &entry);
        let got: Vec<(&str, u32)> = counts.iter().map(|c| (c.grade.as_str(), c.count)).collect();
        assert_eq!(
            got,
            [("A", 1), ("B", 0), ("C", 0), ("D", 0), ("E", 1), ("F", 1)]
        );
        assert_eq!(passed, 2);
    }

    #[test]
    fn pass_rates_are_rounded_to_one_decimal() {
        assert_eq!(pass_rate(2, 3), Some(66.7));
        assert_eq!(pass_rate(1, 3), Some(33.3));
        assert_eq!(pass_rate(3, 3), Some(100.0));
        assert_eq!(pass_rate(0, 0), None);
    }
}
