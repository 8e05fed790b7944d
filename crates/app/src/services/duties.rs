//! Separation of duties in the approval workflow: nobody reviews (approves, returns or
//! publishes) a course result they taught, uploaded a score sheet for, or submitted. Such a
//! reviewer is refused with a message saying who can act instead; with
//! `workflow.self_approval = "escalate"` (the default) the step passes to the next reviewer up
//! the chain HOD → dean → senate when no holder of the step's role is free to act (each had a
//! hand in the result, or none is on the staff list), and with `"refuse"` only another holder
//! of the same role may act.
//!
//! This only ever takes a role away from the person asking or lends them the step of a
//! conflicted reviewer below them; it never lets anyone act outside their scope.

use super::scope::faculty_of;
use super::{Principal, ServiceError, ServiceResult, Services};
use crate::config::SelfApproval;
use eportal_core::model::{Course, CourseTerm, Staff};
use eportal_core::workflow::Action;
use eportal_core::Role;
use eportal_ports::store::CourseResultState;

/// The reviewer above `role` in the approval chain.
pub(crate) fn next_up(role: Role) -> Option<Role> {
    match role {
        Role::Hod => Some(Role::Dean),
        Role::Dean => Some(Role::Senate),
        _ => None,
    }
}

/// Who had a hand in a course result before its review.
struct Hands {
    taught: Vec<String>,
    uploaded: Vec<String>,
    submitted: Option<String>,
}

impl Hands {
    /// What `username` did, in the words of the refusal; `None` if nothing.
    fn of(&self, username: &str) -> Option<&'static str> {
        if self.taught.iter().any(|u| u == username) {
            Some("taught")
        } else if self.uploaded.iter().any(|u| u == username) {
            Some("uploaded a score sheet for")
        } else if self.submitted.as_deref() == Some(username) {
            Some("submitted")
        } else {
            None
        }
    }

    fn free<'a>(&self, staff: &'a [Staff]) -> Vec<&'a Staff> {
        staff
            .iter()
            .filter(|s| self.of(&s.staff_id).is_none())
            .collect()
    }
}

impl Services {
    async fn hands(&self, term: &CourseTerm, current: &CourseResultState) -> ServiceResult<Hands> {
        let store = &self.ports.store;
        let mut uploaded: Vec<String> = store
            .sheets_for(term)
            .await?
            .into_iter()
            .map(|s| s.uploaded_by)
            .collect();
        uploaded.dedup();
        Ok(Hands {
            taught: store.allocations(term).await?,
            uploaded,
            // The submitter is on record while the result waits for its first review; later
            // steps rely on the allocation (only an allocated lecturer may submit).
            submitted: (current.state == eportal_core::workflow::WorkflowState::Submitted)
                .then(|| current.updated_by.clone())
                .flatten(),
        })
    }

    /// The staff holding `role` for this course (HODs of its department, deans of its
    /// faculty, senate), and how to name them.
    pub(crate) async fn holders(
        &self,
        role: Role,
        course: &Course,
    ) -> ServiceResult<(Vec<Staff>, String)> {
        let store = &self.ports.store;
        let all = store.staff_with_role(role).await?;
        let depts = store.departments().await?;
        let dept = depts.iter().find(|d| d.code == course.department_code);
        Ok(match role {
            Role::Hod => (
                all.into_iter()
                    .filter(|s| s.department_code == course.department_code)
                    .collect(),
                format!(
                    "the HOD of {}",
                    dept.map_or(course.department_code.as_str(), |d| d.name.as_str())
                ),
            ),
            Role::Dean => {
                let faculty = faculty_of(&depts, &course.department_code);
                let name = match faculty {
                    Some(code) => store
                        .faculties()
                        .await?
                        .into_iter()
                        .find(|f| f.code == code)
                        .map_or(code.to_string(), |f| f.name),
                    None => "its faculty".into(),
                };
                let name = if name.starts_with("Faculty ") {
                    format!("the {name}")
                } else {
                    name
                };
                (
                    all.into_iter()
                        .filter(|s| {
                            faculty.is_some() && faculty_of(&depts, &s.department_code) == faculty
                        })
                        .collect(),
                    format!("the dean of {name}"),
                )
            }
            _ => (all, "senate".into()),
        })
    }

    /// Who may act at a review step that `hands` keeps from its own reviewers, in words.
    async fn instead(&self, stage: Role, course: &Course, hands: &Hands) -> ServiceResult<String> {
        let ids = |free: Vec<&Staff>| {
            free.iter()
                .map(|s| s.staff_id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let (same, title) = self.holders(stage, course).await?;
        let free = hands.free(&same);
        if !free.is_empty() {
            return Ok(format!("{title} ({}) can", ids(free)));
        }
        if self.config.workflow.self_approval == SelfApproval::Escalate {
            let mut up = next_up(stage);
            while let Some(role) = up {
                let (staff, title) = self.holders(role, course).await?;
                let free = hands.free(&staff);
                if !free.is_empty() {
                    return Ok(format!("{title} ({}) can", ids(free)));
                }
                if role == Role::Senate {
                    return Ok(format!("{title} can"));
                }
                up = next_up(role);
            }
        }
        Ok(format!(
            "no other reviewer without a hand in it is recorded for {title}; the registry must appoint one"
        ))
    }

    /// Applies separation of duties to a review step: refuses `who` if they had a hand in the
    /// result, or lends them the step (adds its role to `roles`) when they are the next
    /// reviewer up and every reviewer of the step had a hand in it.
    pub(crate) async fn check_duties(
        &self,
        who: &Principal,
        term: &CourseTerm,
        course: &Course,
        current: &CourseResultState,
        action: &Action,
        roles: &mut Vec<Role>,
    ) -> ServiceResult<()> {
        let Some(stage) = current.state.reviewer() else {
            return Ok(());
        };
        if matches!(action, Action::Submit) {
            return Ok(());
        }
        let hands = self.hands(term, current).await?;
        let mine = hands.of(&who.username);
        if roles.contains(&stage) {
            let Some(what) = mine else { return Ok(()) };
            return Err(ServiceError::Forbidden(format!(
                "you {what} {} in {} {} semester, so you cannot {} it; {}",
                course.code,
                term.session,
                term.semester,
                action.name(),
                self.instead(stage, course, &hands).await?
            )));
        }
        if mine.is_some() || self.config.workflow.self_approval != SelfApproval::Escalate {
            return Ok(());
        }
        let (reviewers, _) = self.holders(stage, course).await?;
        if !hands.free(&reviewers).is_empty() {
            return Ok(());
        }
        // The step goes to the first role up the chain with a reviewer free to act.
        let mut up = next_up(stage);
        while let Some(role) = up {
            let (staff, _) = self.holders(role, course).await?;
            // Senate is a body whose members need not be on the staff list (the registrar's
            // account): it is always there to take a step nobody below can.
            if role == Role::Senate || !hands.free(&staff).is_empty() {
                if roles.contains(&role) {
                    tracing::info!(
                        course = %course.code,
                        by = %who.username,
                        step = stage.as_str(),
                        "review step escalated past reviewers who had a hand in the result"
                    );
                    roles.push(stage);
                }
                return Ok(());
            }
            up = next_up(role);
        }
        Ok(())
    }
}
