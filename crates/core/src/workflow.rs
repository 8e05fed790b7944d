//! The approval workflow of a course result (one course, one session, one semester) as a
//! state machine:
//!
//! ```text
//! draft ──submit──▶ submitted ──approve(HOD)──▶ hod_approved ──approve(dean)──▶
//! faculty_approved ──approve(senate)──▶ senate_approved ──publish(senate)──▶ published
//!        ▲                 │ return(reason), from any review step, by that step's reviewer
//!        └── returned ◀────┘
//! ```
//!
//! Only the transition rules live here; who is allowed for *which* course (the HOD of the
//! course's department, the dean of its faculty) is checked by the caller against the store.
//! This module must never let a result reach `published` except through every review step,
//! in order, since it was last returned; and never return a result without a reason.

use crate::domain::Role;
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkflowState {
    /// Sheets uploaded and processed; the lecturer has not submitted yet.
    Draft,
    Submitted,
    HodApproved,
    FacultyApproved,
    SenateApproved,
    Published,
    /// Sent back to the lecturer with a reason; uploads are open again.
    Returned,
}

impl WorkflowState {
    pub const ALL: [WorkflowState; 7] = [
        WorkflowState::Draft,
        WorkflowState::Submitted,
        WorkflowState::HodApproved,
        WorkflowState::FacultyApproved,
        WorkflowState::SenateApproved,
        WorkflowState::Published,
        WorkflowState::Returned,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            WorkflowState::Draft => "draft",
            WorkflowState::Submitted => "submitted",
            WorkflowState::HodApproved => "hod_approved",
            WorkflowState::FacultyApproved => "faculty_approved",
            WorkflowState::SenateApproved => "senate_approved",
            WorkflowState::Published => "published",
            WorkflowState::Returned => "returned",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|w| w.as_str() == s)
    }

    /// How the state reads in a sentence shown to people ("approved by the HOD").
    pub fn label(self) -> &'static str {
        match self {
            WorkflowState::Draft => "a draft",
            WorkflowState::Submitted => "submitted",
            WorkflowState::HodApproved => "approved by the HOD",
            WorkflowState::FacultyApproved => "approved by the faculty board",
            WorkflowState::SenateApproved => "approved by senate",
            WorkflowState::Published => "published",
            WorkflowState::Returned => "returned to the lecturer",
        }
    }

    /// A lecturer may upload (or re-upload) a score sheet only while the result is theirs.
    pub fn accepts_uploads(self) -> bool {
        matches!(self, WorkflowState::Draft | WorkflowState::Returned)
    }

    /// The role that reviews a result in this state (approves it onward or returns it).
    pub fn reviewer(self) -> Option<Role> {
        match self {
            WorkflowState::Submitted => Some(Role::Hod),
            WorkflowState::HodApproved => Some(Role::Dean),
            WorkflowState::FacultyApproved | WorkflowState::SenateApproved => Some(Role::Senate),
            _ => None,
        }
    }
}

impl fmt::Display for WorkflowState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    Submit,
    Approve,
    Return { reason: String },
    Publish,
}

impl Action {
    pub fn name(&self) -> &'static str {
        match self {
            Action::Submit => "submit",
            Action::Approve => "approve",
            Action::Return { .. } => "return",
            Action::Publish => "publish",
        }
    }
}

/// "submitted", "approved", … for an action name as [`Action::name`] gives it.
fn past(action: &str) -> &str {
    match action {
        "submit" => "submitted",
        "approve" => "approved",
        "return" => "returned",
        "publish" => "published",
        other => other,
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorkflowError {
    #[error("a result that is {} cannot be {} now", state.label(), past(action))]
    NotAllowedNow {
        state: WorkflowState,
        action: &'static str,
    },
    #[error("only the {} may {action} a result that is {}", needed.title(), state.label())]
    WrongRole {
        state: WorkflowState,
        action: &'static str,
        needed: Role,
    },
    #[error("a returned result needs a reason the lecturer can act on")]
    MissingReason,
}

/// The state after `action` by someone holding `roles`, or why it is refused.
pub fn next(
    state: WorkflowState,
    action: &Action,
    roles: &[Role],
) -> Result<WorkflowState, WorkflowError> {
    use WorkflowState::*;
    let name = action.name();
    let needs = |needed: Role| -> Result<(), WorkflowError> {
        if roles.contains(&needed) {
            Ok(())
        } else {
            Err(WorkflowError::WrongRole {
                state,
                action: name,
                needed,
            })
        }
    };
    let refuse = || WorkflowError::NotAllowedNow {
        state,
        action: name,
    };
    match action {
        Action::Submit => match state {
            Draft | Returned => needs(Role::Lecturer).map(|_| Submitted),
            _ => Err(refuse()),
        },
        Action::Approve => {
            let to = match state {
                Submitted => HodApproved,
                HodApproved => FacultyApproved,
                FacultyApproved => SenateApproved,
                _ => return Err(refuse()),
            };
            needs(state.reviewer().expect("review states have a reviewer")).map(|_| to)
        }
        Action::Publish => match state {
            SenateApproved => needs(Role::Senate).map(|_| Published),
            _ => Err(refuse()),
        },
        Action::Return { reason } => {
            let reviewer = state.reviewer().ok_or_else(refuse)?;
            // Role first: someone who may not return the result learns nothing more.
            needs(reviewer)?;
            if reason.trim().is_empty() {
                return Err(WorkflowError::MissingReason);
            }
            Ok(Returned)
        }
    }
}
