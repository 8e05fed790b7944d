//! Amendments of published course results, as the store keeps them.
//!
//! An amendment carries its new scores as a score sheet in "add rows" mode (uploaded, or
//! written from single records by the application), processed by the workers like any
//! other; but its sheet is held — judged, with the changes it would make, and not applied —
//! until every reviewer of its chain has approved. The last approval queues the sheet again
//! in the same transaction, and applying it marks the amendment applied and its scores
//! amended. Every request, approval, rejection and application is appended to the ledger
//! (kind `amendment`) in the transaction that makes it.
//!
//! The rules of who approves when are the core's ([`eportal_core::amendment`]); the store
//! only refuses a decision that no longer fits the stored amendment (another reviewer acted
//! first), so two reviewers racing cannot both take the same step.

use crate::error::PortResult;
use crate::store::NewSheet;
use async_trait::async_trait;
use eportal_core::amendment::{AmendmentStatus, ApprovalChain};
use eportal_core::model::CourseTerm;
use eportal_core::Role;
use serde::{Deserialize, Serialize};

/// A request to amend a published result, with the sheet of its new scores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAmendment {
    /// Its scores; `mode` must be "add rows" (an amendment removes nobody).
    pub sheet: NewSheet,
    pub reason: String,
    /// The account that asked (also the sheet's uploader).
    pub requested_by: String,
    /// The reviewers it needs, as configured when it was asked for.
    pub chain: ApprovalChain,
}

/// One reviewer's approval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approval {
    pub role: Role,
    pub by: String,
    pub at_ms: i64,
}

/// A rejection, which ends the amendment: a reviewer's, or (with no role) the workers',
/// when its sheet could not be used at all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    pub role: Option<Role>,
    pub by: String,
    pub at_ms: i64,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Amendment {
    pub id: i64,
    pub term: CourseTerm,
    /// The sheet of its new scores (its status, row errors and changes are the sheet's).
    pub sheet_id: i64,
    pub reason: String,
    pub requested_by: String,
    pub requested_at_ms: i64,
    pub chain: ApprovalChain,
    pub status: AmendmentStatus,
    /// In chain order.
    pub approvals: Vec<Approval>,
    pub rejection: Option<Rejection>,
    pub applied_at_ms: Option<i64>,
}

#[async_trait]
pub trait Amendments: Send + Sync {
    /// Records the amendment and its sheet (queued, with its processing job in the outbox)
    /// in one transaction, and appends `requested` to the ledger.
    /// [`crate::PortError::Conflict`] unless the course result is published.
    async fn request_amendment(
        &self,
        amendment: &NewAmendment,
        request_id: Option<&str>,
    ) -> PortResult<Amendment>;

    async fn amendment(&self, id: i64) -> PortResult<Option<Amendment>>;

    /// Amendments of a course result, newest first.
    async fn amendments_for(&self, term: &CourseTerm) -> PortResult<Vec<Amendment>>;

    /// Amendments with `status`, oldest first (a reviewer's to-do list).
    async fn amendments_in(&self, status: AmendmentStatus) -> PortResult<Vec<Amendment>>;

    /// Records the approval of step `step` (the number of approvals before it) by `by`.
    /// When it is the chain's last, the amendment becomes approved and its sheet is queued
    /// again to be applied, in the same transaction. [`crate::PortError::Conflict`] when the
    /// amendment is no longer pending at that step, or its sheet is not held (still being
    /// checked, or unreadable).
    async fn approve_amendment(
        &self,
        id: i64,
        step: usize,
        by: &Approval,
        request_id: Option<&str>,
    ) -> PortResult<Amendment>;

    /// Rejects the amendment at step `step`: nothing of it is applied, and its sheet is
    /// marked rejected with the reason. [`crate::PortError::Conflict`] as for approving.
    async fn reject_amendment(
        &self,
        id: i64,
        step: usize,
        rejection: &Rejection,
    ) -> PortResult<Amendment>;
}

/// What adapters say and store about amendments, written once for both stores.
pub mod words {
    use super::{Amendment, Rejection};
    use crate::{PortError, SheetChanges, SheetStatus};
    use eportal_core::amendment::AmendmentStatus;

    /// A decision made for a step the amendment is no longer at.
    pub fn moved_on(id: i64, status: AmendmentStatus, approved_steps: usize) -> PortError {
        PortError::Conflict(format!(
            "amendment {id} has moved on: it is {} with {approved_steps} approval(s); reload it and decide again",
            status.as_str()
        ))
    }

    /// A decision while the amendment's sheet is not waiting for one.
    pub fn sheet_not_held(a: &Amendment, sheet: SheetStatus, message: Option<&str>) -> PortError {
        let why = match sheet {
            SheetStatus::Queued => {
                "its scores are still being checked; try again in a moment".to_string()
            }
            _ => format!(
                "its sheet is {}{}",
                sheet.as_str(),
                message.map(|m| format!(": {m}")).unwrap_or_default()
            ),
        };
        PortError::Conflict(format!("amendment {} cannot be decided now: {why}", a.id))
    }

    /// The message of a held amendment sheet: what it would do once approved.
    pub fn awaiting_approval(id: i64, c: &SheetChanges) -> String {
        format!(
            "amendment {id} is waiting for approval; once approved it will change {} score(s) and add {}, and leave {} as they are",
            c.changed, c.added, c.unchanged
        )
    }

    /// The message of the sheet of a rejected amendment.
    pub fn rejected_sheet(id: i64, r: &Rejection) -> String {
        let by = r.role.map_or("eportal".to_string(), |role| {
            format!("the {} ({})", role.title(), r.by)
        });
        format!("amendment {id} was rejected by {by}: {}", r.reason)
    }

    /// An amendment of a result that is not published.
    pub fn not_published(state: &str) -> PortError {
        PortError::Conflict(format!(
            "the result is {}, not published: only a published result is amended (before publication, its reviewer returns it to the lecturer)",
            state.replace('_', " ")
        ))
    }
}
