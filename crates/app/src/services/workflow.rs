//! The approval workflow of course results: who may move a result on, for which course.
//! The state machine itself is the core's ([`eportal_core::workflow`]); this adds the scope
//! of each role ([`super::scope`]: the lecturer allocated to the course submits, the HOD of
//! the course's department and the dean of its faculty review, senate approves and
//! publishes), separation of duties ([`super::duties`]), and the effects of publishing
//! (students' cached results refreshed, and each sent a results link).

use super::{Principal, ServiceError, ServiceResult, Services};
use eportal_core::model::{Course, CourseRecord, CourseTerm};
use eportal_core::workflow::{self, Action, WorkflowError, WorkflowState};
use eportal_core::{MatricNo, Role};
use eportal_ports::store::CourseResultState;
use serde::Serialize;
use std::collections::HashSet;

/// The refusal for someone with no role in a course's approval (a student, a lecturer of
/// another course, a reviewer of another department or faculty).
/// Why a result with unscored students was not submitted, naming them (the first 20).
fn unscored_words(term: &CourseTerm, missing: &[MatricNo]) -> String {
    const SHOWN: usize = 20;
    let mut names: Vec<String> = missing.iter().take(SHOWN).map(|m| m.to_string()).collect();
    if missing.len() > SHOWN {
        names.push(format!("and {} more", missing.len() - SHOWN));
    }
    let (count, have) = match missing.len() {
        1 => ("1 registered student".to_string(), "has"),
        n => (format!("{n} registered students"), "have"),
    };
    format!(
        "{count} of {} {} {} semester {have} no score and no ABS: {}; upload a sheet with their scores (write ABS for a student absent from the exam), or confirm the list to submit without them",
        term.course_code,
        term.session,
        term.semester,
        names.join(", ")
    )
}

fn no_part(course: &Course) -> String {
    format!(
        "you have no part in the approval of {}: only the lecturer allocated to it, the HOD of its department, the dean of its faculty and senate act on it",
        course.code
    )
}

/// A course result as a reviewer sees it: its state and every student's current record.
#[derive(Debug, Clone, Serialize)]
pub struct CourseResultDetail {
    #[serde(flatten)]
    pub state: CourseResultState,
    pub records: Vec<CourseRecord>,
    /// Registered students with no score and no `ABS` (a submission must confirm them).
    pub unscored: Vec<MatricNo>,
}

impl Services {
    /// Whether `who` is a lecturer allocated to teach the course in that term.
    pub async fn is_allocated(&self, who: &Principal, term: &CourseTerm) -> ServiceResult<bool> {
        Ok(who.has(Role::Lecturer)
            && self
                .ports
                .store
                .allocations(term)
                .await?
                .contains(&who.username))
    }

    /// `404` unless the course is taught in the term (someone is allocated to it then): a
    /// term it is not taught in has no result, not an empty draft.
    async fn taught_then(&self, term: &CourseTerm, course: &Course) -> ServiceResult<()> {
        if self.ports.store.allocations(term).await?.is_empty() {
            return Err(ServiceError::NotFound(format!(
                "{} is not taught in the {} semester of {}, so it has no result then",
                course.code, term.semester, term.session
            )));
        }
        Ok(())
    }

    /// Applies a workflow action to a course result on behalf of `who`.
    pub async fn course_action(
        &self,
        who: &Principal,
        term: &CourseTerm,
        action: Action,
    ) -> ServiceResult<CourseResultState> {
        self.course_action_confirmed(who, term, action, &[]).await
    }

    /// Registered students of a course term with no current score and no `ABS`, in order.
    pub async fn unscored(&self, term: &CourseTerm) -> ServiceResult<Vec<MatricNo>> {
        let store = &self.ports.store;
        let scored: HashSet<MatricNo> = store
            .course_records(term)
            .await?
            .into_iter()
            .map(|r| r.matric_no)
            .collect();
        let mut missing: Vec<MatricNo> = store
            .registered(term)
            .await?
            .into_iter()
            .filter(|m| !scored.contains(m))
            .collect();
        missing.sort();
        Ok(missing)
    }

    /// [`Services::course_action`], where a submission names the registered students the
    /// lecturer confirms are to go without a score: a result with unscored students is not
    /// submitted until every one of them is in `confirmed_unscored`.
    pub async fn course_action_confirmed(
        &self,
        who: &Principal,
        term: &CourseTerm,
        action: Action,
        confirmed_unscored: &[MatricNo],
    ) -> ServiceResult<CourseResultState> {
        let store = &self.ports.store;
        let course = store.course(&term.course_code).await?.ok_or_else(|| {
            ServiceError::NotFound(format!("course {} does not exist", term.course_code))
        })?;
        let mut roles = self.roles_for(who, term, &course).await?;
        if roles.is_empty() {
            // Refused before the state is read: someone with no part in this course's
            // approval learns nothing about where it stands.
            return Err(ServiceError::Forbidden(no_part(&course)));
        }
        self.taught_then(term, &course).await?;
        let current = store.course_result(term).await?;
        self.check_duties(who, term, &course, &current, &action, &mut roles)
            .await?;
        let to = workflow::next(current.state, &action, &roles).map_err(|e| match e {
            WorkflowError::NotAllowedNow { .. } => ServiceError::Conflict(e.to_string()),
            WorkflowError::WrongRole { .. } => ServiceError::Forbidden(format!(
                "{e} (for {}: the lecturer allocated to it, the HOD of its department, the dean of its faculty, or senate)",
                term.course_code
            )),
            WorkflowError::MissingReason => ServiceError::Invalid(e.to_string()),
        })?;
        if action == Action::Submit
            && store
                .sheets_for(term)
                .await?
                .iter()
                .all(|s| s.status != eportal_ports::SheetStatus::Processed)
        {
            return Err(ServiceError::Conflict(format!(
                "{} has no processed score sheet for {} {} semester yet; upload one first",
                term.course_code, term.session, term.semester
            )));
        }
        if action == Action::Submit {
            let unconfirmed: Vec<MatricNo> = self
                .unscored(term)
                .await?
                .into_iter()
                .filter(|m| !confirmed_unscored.contains(m))
                .collect();
            if !unconfirmed.is_empty() {
                return Err(ServiceError::Conflict(unscored_words(term, &unconfirmed)));
            }
        }
        let reason = match &action {
            Action::Return { reason } => Some(reason.trim()),
            _ => None,
        };
        let state = store
            .transition(term, current.state, to, &who.username, reason)
            .await?;
        tracing::info!(
            course = %term.course_code,
            session = %term.session,
            semester = %term.semester,
            from = current.state.as_str(),
            to = to.as_str(),
            by = %who.username,
            "course result moved"
        );
        if to == WorkflowState::Published {
            self.after_publish(term).await;
        }
        Ok(state)
    }

    /// Students now see the course: drop their cached results now, send each a results link,
    /// and have the warmer refill their results in the background so the first reads are hits.
    async fn after_publish(&self, term: &CourseTerm) {
        let students = match self.ports.store.registered(term).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "could not list students to refresh after publishing");
                return;
            }
        };
        self.forget_results(&students).await;
        self.send_result_links(term, &students);
        self.warmer.enqueue(students);
    }

    /// A course result with its records, for its lecturer and the reviewers whose
    /// department or faculty it belongs to; `404` for a course that does not exist.
    pub async fn course_result_detail(
        &self,
        who: &Principal,
        term: &CourseTerm,
    ) -> ServiceResult<CourseResultDetail> {
        let store = &self.ports.store;
        let course = store.course(&term.course_code).await?.ok_or_else(|| {
            ServiceError::NotFound(format!("course {} does not exist", term.course_code))
        })?;
        if self.roles_for(who, term, &course).await?.is_empty() {
            return Err(ServiceError::Forbidden(format!(
                "only the lecturer of {} in {} {} semester, the HOD of its department, the dean of its faculty, senate and the registry may see this course result",
                course.code, term.session, term.semester
            )));
        }
        self.taught_then(term, &course).await?;
        Ok(CourseResultDetail {
            state: store.course_result(term).await?,
            records: store.course_records(term).await?,
            unscored: self.unscored(term).await?,
        })
    }
}
