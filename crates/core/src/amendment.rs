//! Amending a published course result: the rules of the review an amendment goes through.
//!
//! A published result changes only through an amendment: new scores (a sheet, or single
//! records), a reason, and who asked, approved by each reviewer of an [`ApprovalChain`] in
//! turn (the full chain HOD → dean → senate by default, or a shorter one an institution
//! configures). Only once the last reviewer approves are the new scores applied, marked as
//! amended; any reviewer of the chain may reject it at their step, with a reason, and then
//! nothing changes.
//!
//! ```text
//! pending(0) ──approve(chain[0])──▶ pending(1) ── … ──approve(chain[n-1])──▶ approved ──▶ applied
//!      └────────── reject(reason), by the reviewer of the current step ──────────▶ rejected
//! ```
//!
//! Who may act for *which* course (the HOD of its department, the dean of its faculty) is
//! checked by the caller, as for the workflow. This module must never let an amendment be
//! approved out of turn, twice by the same step, or rejected without a reason.

use crate::domain::Role;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The reviewers an amendment needs, in the order they approve it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalChain(Vec<Role>);

/// Why a configured chain is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    #[error("name at least one reviewer (hod, dean, senate)")]
    Empty,
    #[error("\"{0}\" is not a reviewer: use hod, dean and senate, separated by commas")]
    NotAReviewer(String),
    #[error("{} appears twice; each reviewer approves once", .0.title())]
    Repeated(Role),
    #[error("{} comes after {}; reviewers approve in the order hod, dean, senate", .later.title(), .earlier.title())]
    OutOfOrder { earlier: Role, later: Role },
}

/// The review order of the workflow: a chain is any ordered subset of it.
const ORDER: [Role; 3] = [Role::Hod, Role::Dean, Role::Senate];

impl ApprovalChain {
    /// HOD, dean, then senate: the same chain as the result's first publication.
    pub fn full() -> ApprovalChain {
        ApprovalChain(ORDER.to_vec())
    }

    /// A chain written as reviewers separated by commas: `"hod,dean,senate"`, `"senate"`.
    pub fn parse(s: &str) -> Result<ApprovalChain, ChainError> {
        let mut roles: Vec<Role> = Vec::new();
        for word in s.split(',').map(str::trim).filter(|w| !w.is_empty()) {
            let role = ORDER
                .into_iter()
                .find(|r| r.as_str().eq_ignore_ascii_case(word))
                .ok_or_else(|| ChainError::NotAReviewer(word.to_string()))?;
            if roles.contains(&role) {
                return Err(ChainError::Repeated(role));
            }
            if let Some(&last) = roles.last() {
                if rank(last) > rank(role) {
                    return Err(ChainError::OutOfOrder {
                        earlier: role,
                        later: last,
                    });
                }
            }
            roles.push(role);
        }
        if roles.is_empty() {
            return Err(ChainError::Empty);
        }
        Ok(ApprovalChain(roles))
    }

    pub fn roles(&self) -> &[Role] {
        &self.0
    }

    /// The reviewer who acts after `approvals` approvals; `None` once all have approved.
    pub fn step(&self, approvals: usize) -> Option<Role> {
        self.0.get(approvals).copied()
    }
}

fn rank(role: Role) -> usize {
    ORDER.iter().position(|r| *r == role).unwrap_or(usize::MAX)
}

impl fmt::Display for ApprovalChain {
    /// The stored and configured form, `hod,dean,senate`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let words: Vec<&str> = self.0.iter().map(|r| r.as_str()).collect();
        f.write_str(&words.join(","))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AmendmentStatus {
    /// Waiting for the reviewer of its current step.
    Pending,
    /// Every reviewer approved; its scores are being applied.
    Approved,
    /// Its scores are the student's current scores, marked as amended.
    Applied,
    /// A reviewer rejected it; nothing changed.
    Rejected,
}

impl AmendmentStatus {
    pub const ALL: [AmendmentStatus; 4] = [
        AmendmentStatus::Pending,
        AmendmentStatus::Approved,
        AmendmentStatus::Applied,
        AmendmentStatus::Rejected,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AmendmentStatus::Pending => "pending",
            AmendmentStatus::Approved => "approved",
            AmendmentStatus::Applied => "applied",
            AmendmentStatus::Rejected => "rejected",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// A reviewer's decision on an amendment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Decision {
    Approve,
    Reject { reason: String },
}

/// What a decision does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// One more approval; `last` when it completes the chain (the scores are then applied).
    Approved {
        role: Role,
        last: bool,
    },
    Rejected {
        role: Role,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmendmentError {
    #[error("the amendment is {}; only a pending amendment can be approved or rejected", .0.as_str())]
    NotPending(AmendmentStatus),
    #[error("the amendment waits for the {}; you act as {}", .needed.title(), roles_words(.held))]
    NotYourStep { needed: Role, held: Vec<Role> },
    #[error("a rejected amendment needs a reason the lecturer can act on")]
    MissingReason,
}

fn roles_words(roles: &[Role]) -> String {
    if roles.is_empty() {
        return "nobody in its review".to_string();
    }
    let words: Vec<&str> = roles.iter().map(|r| r.title()).collect();
    words.join(" and ")
}

/// The verdict of `decision` by someone acting as `roles` on an amendment with `status`
/// that has had `approvals` approvals under `chain`, or why it is refused.
pub fn decide(
    chain: &ApprovalChain,
    status: AmendmentStatus,
    approvals: usize,
    roles: &[Role],
    decision: &Decision,
) -> Result<Verdict, AmendmentError> {
    if status != AmendmentStatus::Pending {
        return Err(AmendmentError::NotPending(status));
    }
    let Some(needed) = chain.step(approvals) else {
        // Every step approved but not marked approved: nothing is left to decide.
        return Err(AmendmentError::NotPending(AmendmentStatus::Approved));
    };
    if !roles.contains(&needed) {
        return Err(AmendmentError::NotYourStep {
            needed,
            held: roles.to_vec(),
        });
    }
    match decision {
        Decision::Approve => Ok(Verdict::Approved {
            role: needed,
            last: approvals + 1 == chain.roles().len(),
        }),
        Decision::Reject { reason } if reason.trim().is_empty() => {
            Err(AmendmentError::MissingReason)
        }
        Decision::Reject { .. } => Ok(Verdict::Rejected { role: needed }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chains_are_ordered_subsets_of_hod_dean_senate() {
        assert_eq!(
            ApprovalChain::parse("hod,dean,senate").unwrap(),
            ApprovalChain::full()
        );
        let short = ApprovalChain::parse(" HOD , senate ").unwrap();
        assert_eq!(short.roles(), &[Role::Hod, Role::Senate]);
        assert_eq!(short.to_string(), "hod,senate");
        assert_eq!(ApprovalChain::parse(""), Err(ChainError::Empty));
        assert_eq!(
            ApprovalChain::parse("hod,registrar")
                .unwrap_err()
                .to_string(),
            "\"registrar\" is not a reviewer: use hod, dean and senate, separated by commas"
        );
        assert_eq!(
            ApprovalChain::parse("lecturer"),
            Err(ChainError::NotAReviewer("lecturer".into()))
        );
        assert_eq!(
            ApprovalChain::parse("senate,senate"),
            Err(ChainError::Repeated(Role::Senate))
        );
        assert_eq!(
            ApprovalChain::parse("senate,hod").unwrap_err().to_string(),
            "senate comes after HOD; reviewers approve in the order hod, dean, senate"
        );
    }

    #[test]
    fn each_step_is_taken_by_its_reviewer_in_turn_and_the_last_completes_it() {
        let chain = ApprovalChain::full();
        let p = AmendmentStatus::Pending;
        let approve = Decision::Approve;
        assert_eq!(
            decide(&chain, p, 0, &[Role::Hod], &approve),
            Ok(Verdict::Approved {
                role: Role::Hod,
                last: false
            })
        );
        // The dean cannot take the HOD's step, nor senate the dean's.
        assert_eq!(
            decide(&chain, p, 0, &[Role::Dean, Role::Senate], &approve),
            Err(AmendmentError::NotYourStep {
                needed: Role::Hod,
                held: vec![Role::Dean, Role::Senate]
            })
        );
        assert!(decide(&chain, p, 1, &[Role::Senate], &approve).is_err());
        assert_eq!(
            decide(&chain, p, 2, &[Role::Senate], &approve),
            Ok(Verdict::Approved {
                role: Role::Senate,
                last: true
            })
        );
        assert_eq!(
            decide(&chain, p, 3, &[Role::Senate], &approve),
            Err(AmendmentError::NotPending(AmendmentStatus::Approved))
        );
        let senate_only = ApprovalChain::parse("senate").unwrap();
        assert_eq!(
            decide(&senate_only, p, 0, &[Role::Senate], &approve),
            Ok(Verdict::Approved {
                role: Role::Senate,
                last: true
            })
        );
    }

    #[test]
    fn a_rejection_needs_a_reason_and_a_decided_amendment_takes_no_more() {
        let chain = ApprovalChain::full();
        let blank = Decision::Reject {
            reason: "  ".into(),
        };
        assert_eq!(
            decide(&chain, AmendmentStatus::Pending, 1, &[Role::Dean], &blank),
            Err(AmendmentError::MissingReason)
        );
        let why = Decision::Reject {
            reason: "no evidence of a marking error".into(),
        };
        assert_eq!(
            decide(&chain, AmendmentStatus::Pending, 1, &[Role::Dean], &why),
            Ok(Verdict::Rejected { role: Role::Dean })
        );
        for status in [
            AmendmentStatus::Approved,
            AmendmentStatus::Applied,
            AmendmentStatus::Rejected,
        ] {
            assert_eq!(
                decide(&chain, status, 0, &[Role::Hod], &Decision::Approve),
                Err(AmendmentError::NotPending(status))
            );
        }
        assert_eq!(
            decide(&chain, AmendmentStatus::Rejected, 0, &[Role::Hod], &why)
                .unwrap_err()
                .to_string(),
            "the amendment is rejected; only a pending amendment can be approved or rejected"
        );
    }
}
