//! Amending a published course result: the request (new scores as a sheet or as single
//! records, a reason, who asked), the reviewers' decisions through the configured chain
//! (`workflow.amendment_approvals`), and reading them.
//!
//! The scores go the way every sheet goes — kept by SHA-256, judged by a worker, row errors
//! by row number — but the store holds the sheet until the last approval, so reviewers see
//! what it would change before it does. Single records are written as a small CSV sheet, so
//! there is one path for both. The rules of the chain are the core's
//! ([`eportal_core::amendment`]); this adds who may act for which course ([`super::scope`])
//! and that nobody approves an amendment they asked for or already approved (the next
//! reviewer up takes a step whose every reviewer is kept from it, as in the workflow).

use super::sheet_template::csv_field as cell;
use super::{Principal, ServiceError, ServiceResult, Services};
use crate::config::SelfApproval;
use eportal_core::amendment::{self, AmendmentError, AmendmentStatus, Decision, Verdict};
use eportal_core::model::{Course, CourseTerm};
use eportal_core::workflow::WorkflowState;
use eportal_core::{CourseCode, Role};
use eportal_ports::{
    Amendment, Approval, NewAmendment, NewSheet, Rejection, SheetMode, SheetReport,
};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Most single records one amendment may carry (a longer change is a sheet).
pub const MAX_RECORDS: usize = 200;
/// Longest reason accepted, in characters.
pub const MAX_REASON: usize = 2_000;

/// One student's new scores, as a lecturer would type them into a sheet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordLine {
    pub matric: String,
    /// The CA mark as written in a sheet ("18", "18.5").
    pub ca: String,
    /// The exam mark, or `ABS`.
    pub exam: String,
}

/// The new scores of an amendment.
#[derive(Debug, Clone)]
pub enum NewScores {
    Records(Vec<RecordLine>),
    File {
        filename: Option<String>,
        bytes: Vec<u8>,
    },
}

/// An amendment with its sheet's report (the changes it makes or would make, row errors),
/// and the reviewer it waits for.
#[derive(Debug, Clone, Serialize)]
pub struct AmendmentDetail {
    #[serde(flatten)]
    pub amendment: Amendment,
    /// While pending: the reviewer of the next step.
    pub waiting_for: Option<Role>,
    pub sheet: SheetReport,
}

/// The records as a CSV score sheet the sheet reader takes: a title line (which also makes
/// every amendment's file its own), then the header and one row per record.
fn records_csv(term: &CourseTerm, who: &str, at_ms: i64, records: &[RecordLine]) -> Vec<u8> {
    let mut out = format!(
        "Amendment of {} {} {} semester requested by {} at {}\r\nMatric No,CA,Exam\r\n",
        term.course_code,
        term.session,
        term.semester,
        cell(who),
        at_ms
    );
    for r in records {
        out.push_str(&format!(
            "{},{},{}\r\n",
            cell(r.matric.trim()),
            cell(r.ca.trim()),
            cell(r.exam.trim())
        ));
    }
    out.into_bytes()
}

impl Services {
    /// Records a request to amend a published result. Its lecturer (allocated to it in that
    /// term) and the registry may ask; the scores are judged by a worker and held for the
    /// reviewers.
    pub async fn request_amendment(
        &self,
        who: &Principal,
        term: &CourseTerm,
        reason: &str,
        scores: NewScores,
        request_id: Option<&str>,
    ) -> ServiceResult<Amendment> {
        let store = &self.ports.store;
        let course = self.course_of(term).await?;
        if !(who.has(Role::Admin) || self.is_allocated(who, term).await?) {
            return Err(ServiceError::Forbidden(format!(
                "only the lecturer of {} in the {} semester of {} or the registry may ask to amend its result",
                course.code, term.semester, term.session
            )));
        }
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(ServiceError::Invalid(
                "give the reason for the amendment (for example: \"script 14 was re-marked after the student's appeal\"); reviewers decide on it".into(),
            ));
        }
        if reason.chars().count() > MAX_REASON {
            return Err(ServiceError::Invalid(format!(
                "the reason is longer than {MAX_REASON} characters; shorten it"
            )));
        }
        let state = store.course_result(term).await?.state;
        if state != WorkflowState::Published {
            return Err(ServiceError::Conflict(format!(
                "the result of {} for {} {} semester is {}, not published: only a published result is amended (before publication, upload a new sheet while it is yours, or ask its reviewer to return it)",
                course.code,
                term.session,
                term.semester,
                state.label()
            )));
        }
        let (filename, bytes) = match scores {
            NewScores::Records(records) => {
                if records.is_empty() {
                    return Err(ServiceError::Invalid(
                        "list at least one student's new scores (matric number, CA and exam)"
                            .into(),
                    ));
                }
                if records.len() > MAX_RECORDS {
                    return Err(ServiceError::Invalid(format!(
                        "{} records are more than the {MAX_RECORDS} one amendment takes as records; upload them as a sheet instead",
                        records.len()
                    )));
                }
                let now = eportal_ports::now_ms();
                let csv = records_csv(term, &who.username, now, &records);
                (Some(format!("amendment-{}.csv", course.code)), csv)
            }
            NewScores::File { filename, bytes } => {
                self.check_sheet_file(&bytes)?;
                (filename, bytes)
            }
        };
        let sha256 = self.ports.blobs.put(&bytes).await?;
        let amendment = store
            .request_amendment(
                &NewAmendment {
                    sheet: NewSheet {
                        term: term.clone(),
                        sha256,
                        size_bytes: bytes.len() as u64,
                        filename,
                        uploaded_by: who.username.clone(),
                        mode: SheetMode::AddRows,
                        rows_estimate: Some(eportal_core::sheet::estimate_rows(&bytes)),
                    },
                    reason: reason.to_string(),
                    requested_by: who.username.clone(),
                    chain: self.config.workflow.amendment_chain(),
                },
                request_id,
            )
            .await
            .map_err(|e| match e {
                eportal_ports::PortError::Conflict(m) if m.starts_with("already exists") => {
                    ServiceError::Conflict(
                        "this file is already a score sheet of the result; an amendment needs the changed scores".into(),
                    )
                }
                other => other.into(),
            })?;
        self.metrics.sheets.with_label_values(&["amendment"]).inc();
        tracing::info!(
            amendment = amendment.id,
            sheet_id = amendment.sheet_id,
            course = %term.course_code,
            session = %term.session,
            semester = %term.semester,
            by = %who.username,
            "amendment requested"
        );
        Ok(amendment)
    }

    async fn course_of(&self, term: &CourseTerm) -> ServiceResult<Course> {
        self.ports
            .store
            .course(&term.course_code)
            .await?
            .ok_or_else(|| {
                ServiceError::NotFound(format!("course {} does not exist", term.course_code))
            })
    }

    async fn amendment_or_404(&self, id: i64) -> ServiceResult<Amendment> {
        self.ports
            .store
            .amendment(id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("amendment {id} does not exist")))
    }

    /// Whether `who` may see the amendment: who asked, the course's lecturer in that term,
    /// and the reviewers whose department or faculty it belongs to.
    async fn may_see(&self, who: &Principal, a: &Amendment) -> ServiceResult<bool> {
        Ok(a.requested_by == who.username
            || self.is_allocated(who, &a.term).await?
            || self.reviews_term(who, &a.term).await?)
    }

    /// An amendment with its sheet's report; `404` for anyone who may not see it.
    pub async fn amendment_detail(
        &self,
        who: &Principal,
        id: i64,
    ) -> ServiceResult<AmendmentDetail> {
        let a = self.amendment_or_404(id).await?;
        if !self.may_see(who, &a).await? {
            return Err(ServiceError::NotFound(format!(
                "amendment {id} does not exist"
            )));
        }
        let sheet = self.ports.store.sheet(a.sheet_id).await?.ok_or_else(|| {
            ServiceError::Internal(anyhow::anyhow!("amendment {id} has no sheet"))
        })?;
        Ok(AmendmentDetail {
            waiting_for: (a.status == AmendmentStatus::Pending)
                .then(|| a.chain.step(a.approvals.len()))
                .flatten(),
            amendment: a,
            sheet,
        })
    }

    /// The amendments of a course result, newest first, for those who may see them.
    pub async fn amendments_of(
        &self,
        who: &Principal,
        term: &CourseTerm,
    ) -> ServiceResult<Vec<Amendment>> {
        let course = self.course_of(term).await?;
        if self.roles_for(who, term, &course).await?.is_empty() {
            return Err(ServiceError::Forbidden(format!(
                "only the lecturer of {}, the HOD of its department, the dean of its faculty, senate and the registry may see its amendments",
                course.code
            )));
        }
        Ok(self.ports.store.amendments_for(term).await?)
    }

    /// Pending amendments whose next step is `who`'s, in a department or faculty of theirs
    /// (a reviewer's to-do list), oldest first.
    pub async fn amendments_to_decide(&self, who: &Principal) -> ServiceResult<Vec<Amendment>> {
        let pending = self
            .ports
            .store
            .amendments_in(AmendmentStatus::Pending)
            .await?;
        // Scope is per course: looked up once for each, however many amendments it has.
        let mut roles_by_course: HashMap<CourseCode, Vec<Role>> = HashMap::new();
        let mut mine = Vec::new();
        for a in pending {
            let Some(step) = a.chain.step(a.approvals.len()) else {
                continue;
            };
            if !who.has(step) {
                continue;
            }
            let code = &a.term.course_code;
            if !roles_by_course.contains_key(code) {
                let course = self.course_of(&a.term).await?;
                let roles = self.review_roles_in(who, &course.department_code).await?;
                roles_by_course.insert(code.clone(), roles);
            }
            if roles_by_course[code].contains(&step) {
                mine.push(a);
            }
        }
        Ok(mine)
    }

    /// With `workflow.self_approval = "escalate"` (the default), as in the workflow: when every
    /// holder of the current step's role (in the course's department or faculty) asked for the
    /// amendment or approved an earlier step, or there is none, the next reviewer up may take
    /// the step in their place.
    async fn lend_conflicted_step(
        &self,
        a: &Amendment,
        course: &Course,
        roles: &mut Vec<Role>,
    ) -> ServiceResult<()> {
        if self.config.workflow.self_approval != SelfApproval::Escalate
            || a.status != AmendmentStatus::Pending
        {
            return Ok(());
        }
        let Some(step) = a.chain.step(a.approvals.len()) else {
            return Ok(());
        };
        let up = super::duties::next_up(step);
        if roles.contains(&step) || !up.is_some_and(|u| roles.contains(&u)) {
            return Ok(());
        }
        let (holders, _) = self.holders(step, course).await?;
        let conflicted = |id: &str| a.requested_by == id || a.approvals.iter().any(|x| x.by == id);
        if holders.iter().all(|h| conflicted(&h.staff_id)) {
            roles.push(step);
        }
        Ok(())
    }

    /// A reviewer's decision on an amendment at its current step. The last approval queues
    /// its scores to be applied; a rejection ends it with nothing changed.
    pub async fn decide_amendment(
        &self,
        who: &Principal,
        id: i64,
        decision: Decision,
        request_id: Option<&str>,
    ) -> ServiceResult<Amendment> {
        let a = self.amendment_or_404(id).await?;
        let course = self.course_of(&a.term).await?;
        let mut roles = self.review_roles_in(who, &course.department_code).await?;
        self.lend_conflicted_step(&a, &course, &mut roles).await?;
        if roles.is_empty() {
            return Err(if self.may_see(who, &a).await? {
                ServiceError::Forbidden(format!(
                    "only the reviewers of {} (its HOD, the dean of its faculty and senate) decide on its amendments",
                    course.code
                ))
            } else {
                ServiceError::NotFound(format!("amendment {id} does not exist"))
            });
        }
        let step = a.approvals.len();
        let verdict = amendment::decide(&a.chain, a.status, step, &roles, &decision).map_err(
            |e| match e {
                AmendmentError::NotPending(_) => ServiceError::Conflict(e.to_string()),
                AmendmentError::NotYourStep { .. } => ServiceError::Forbidden(e.to_string()),
                AmendmentError::MissingReason => ServiceError::Invalid(e.to_string()),
            },
        )?;
        if a.requested_by == who.username {
            return Err(ServiceError::Forbidden(
                "you asked for this amendment; another reviewer must decide on it".into(),
            ));
        }
        if a.approvals.iter().any(|x| x.by == who.username) {
            return Err(ServiceError::Forbidden(
                "you approved this amendment at an earlier step; another reviewer must take this one".into(),
            ));
        }
        let now = eportal_ports::now_ms();
        let store = &self.ports.store;
        let decided = match (verdict, decision) {
            (Verdict::Approved { role, .. }, _) => {
                let approval = Approval {
                    role,
                    by: who.username.clone(),
                    at_ms: now,
                };
                store
                    .approve_amendment(id, step, &approval, request_id)
                    .await?
            }
            (Verdict::Rejected { role }, Decision::Reject { reason }) => {
                let rejection = Rejection {
                    role: Some(role),
                    by: who.username.clone(),
                    at_ms: now,
                    reason: reason.trim().to_string(),
                };
                store.reject_amendment(id, step, &rejection).await?
            }
            (Verdict::Rejected { .. }, Decision::Approve) => {
                unreachable!("an approval is never a rejection")
            }
        };
        tracing::info!(
            amendment = id,
            status = decided.status.as_str(),
            approvals = decided.approvals.len(),
            by = %who.username,
            "amendment decided"
        );
        Ok(decided)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use eportal_core::sheet::{parse, SheetLimits};

    #[test]
    fn records_become_a_sheet_the_reader_takes_row_by_row() {
        let term = CourseTerm {
            course_code: eportal_core::CourseCode::parse("CSC101").unwrap(),
            session: eportal_core::AcademicSession::parse("2024/2025").unwrap(),
            semester: eportal_core::Semester::First,
        };
        let records = vec![
            RecordLine {
                matric: "SCI/2021/0001".into(),
                ca: "20".into(),
                exam: " 45.5 ".into(),
            },
            RecordLine {
                matric: "SCI/2021/0002".into(),
                ca: "18".into(),
                exam: "ABS".into(),
            },
        ];
        let csv = records_csv(&term, "lect,1", 1_700_000_000_000, &records);
        let sheet = parse(&csv, &SheetLimits::default()).expect("a readable sheet");
        assert_eq!(sheet.header_row, 2, "the title line comes first");
        let cells: Vec<Vec<String>> = sheet
            .rows
            .iter()
            .map(|r| vec![r.matric.clone(), r.ca.clone(), r.exam.clone()])
            .collect();
        assert_eq!(
            cells,
            [
                ["SCI/2021/0001", "20", "45.5"],
                ["SCI/2021/0002", "18", "ABS"]
            ]
        );
        let other = records_csv(&term, "lect,1", 1_700_000_000_001, &records);
        assert_ne!(csv, other, "each request is its own file");
    }
}
