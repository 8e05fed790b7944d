//! The registry's views of the pipeline: every score sheet with its course, term, uploader,
//! status and the state of its processing job, and the dead-lettered jobs with the reasons
//! they were given up on. For the registry administrator and senate only; the registry
//! administrator's own pages (imports, password resets and these views, under `/registry`)
//! are the administrator's alone ([`Services::registry_desk`]).
//!
//! A job's state is read from its sheet (a sheet stays `queued` until its job is settled,
//! and is marked `failed` with the reason when the job is dead-lettered), the retries the
//! worker noted in the store, and the queue's totals; this module never reaches into an
//! engine for a single job.

use super::{Principal, ServiceError, ServiceResult, Services};
use eportal_core::model::CourseTerm;
use eportal_core::Role;
use eportal_ports::queue::QueueStats;
use eportal_ports::store::SheetSummary;
use eportal_ports::SheetStatus;
use serde::Serialize;

/// Where a sheet's processing job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Not settled yet and never failed: waiting, or in a worker's hands (the queue's totals
    /// say how many of each).
    Pending,
    /// Not settled yet, and failed before: waiting for its next attempt (or in it).
    Retrying,
    /// Settled: the sheet was applied, rejected as a whole, or superseded.
    Done,
    /// Given up on after failing; `reason` says why.
    DeadLettered,
}

#[derive(Debug, Clone, Serialize)]
pub struct Job {
    pub state: JobState,
    /// Why it was given up on, or (retrying) its latest error.
    pub reason: Option<String>,
    /// How many times it failed and was retried.
    pub retries: u32,
}

/// One sheet as the registry sees it.
#[derive(Debug, Clone, Serialize)]
pub struct RegistrySheet {
    pub id: i64,
    pub term: CourseTerm,
    pub filename: Option<String>,
    pub uploaded_by: String,
    pub uploaded_at_ms: i64,
    pub status: SheetStatus,
    pub rows_total: u32,
    pub rows_accepted: u32,
    pub rows_rejected: u32,
    pub job: Job,
}

impl From<SheetSummary> for RegistrySheet {
    fn from(s: SheetSummary) -> Self {
        let job = match s.status {
            SheetStatus::Queued => Job {
                state: JobState::Pending,
                reason: None,
                retries: 0,
            },
            SheetStatus::Failed => Job {
                state: JobState::DeadLettered,
                reason: s.message.clone(),
                retries: 0,
            },
            _ => Job {
                state: JobState::Done,
                reason: None,
                retries: 0,
            },
        };
        RegistrySheet {
            id: s.id,
            term: s.term,
            filename: s.filename,
            uploaded_by: s.uploaded_by,
            uploaded_at_ms: s.uploaded_at_ms,
            status: s.status,
            rows_total: s.rows_total,
            rows_accepted: s.rows_accepted,
            rows_rejected: s.rows_rejected,
            job,
        }
    }
}

/// A page of sheets, with the queue's totals.
#[derive(Debug, Serialize)]
pub struct SheetsPage {
    pub total: u64,
    pub limit: u32,
    pub offset: u32,
    pub sheets: Vec<RegistrySheet>,
    /// The job queue now: ready, in flight, delayed for a retry, dead; `null` when the
    /// queue cannot be reached.
    pub queue: Option<QueueStats>,
}

/// The registry's overview: how many sheets are in each status, and the queue's totals.
#[derive(Debug, Serialize)]
pub struct Overview {
    /// Every status, in the order of [`STATUSES`], with its number of sheets.
    pub sheets: Vec<(SheetStatus, u64)>,
    /// The job queue now; `None` when the queue cannot be reached.
    pub queue: Option<QueueStats>,
    /// The active grading policy version and the latest regrades, newest first.
    pub policy_version: u32,
    pub regrades: Vec<super::regrade::RegradeView>,
}

/// The statuses of a sheet, in the order a sheet meets them.
pub const STATUSES: [SheetStatus; 5] = [
    SheetStatus::Queued,
    SheetStatus::Processed,
    SheetStatus::Rejected,
    SheetStatus::Superseded,
    SheetStatus::Failed,
];

impl Services {
    /// Whether `who` may use the registry administrator's desk: the `/registry` pages that
    /// import the university's records, reset passwords and watch the pipeline. They are the
    /// administrator's alone (senate reads every sheet and job through the API).
    pub fn registry_desk(who: &Principal) -> ServiceResult<()> {
        if who.has(Role::Admin) {
            Ok(())
        } else {
            Err(ServiceError::Forbidden(
                "these pages are the registry administrator's; your account does not hold that role".into(),
            ))
        }
    }

    /// How many sheets are in each status (the failed ones are the dead letters), and the
    /// queue's totals: the first page of the registry administrator's desk.
    pub async fn registry_overview(&self, who: &Principal) -> ServiceResult<Overview> {
        Self::registry_desk(who)?;
        let mut sheets = Vec::with_capacity(STATUSES.len());
        for status in STATUSES {
            let (_, total) = self.ports.store.all_sheets(Some(status), 0, 0).await?;
            sheets.push((status, total));
        }
        let regrades = self.ports.store.regrades(5).await?;
        Ok(Overview {
            sheets,
            queue: self.queue_stats().await,
            policy_version: self.ports.store.active_policy_version().await?,
            regrades: regrades.into_iter().map(Into::into).collect(),
        })
    }

    fn registry_only(who: &Principal) -> ServiceResult<()> {
        if who.has(Role::Admin) || who.has(Role::Senate) {
            Ok(())
        } else {
            Err(ServiceError::Forbidden(
                "only the registry administrator and senate may see every sheet and job".into(),
            ))
        }
    }

    async fn queue_stats(&self) -> Option<QueueStats> {
        match self.ports.queue.stats().await {
            Ok(s) => Some(s),
            Err(e) => {
                tracing::warn!(error = %e, "queue totals unavailable for the registry view");
                None
            }
        }
    }

    /// Every sheet, newest first, only those with `status` when given.
    pub async fn registry_sheets(
        &self,
        who: &Principal,
        status: Option<SheetStatus>,
        limit: u32,
        offset: u32,
    ) -> ServiceResult<SheetsPage> {
        Self::registry_only(who)?;
        let store = &self.ports.store;
        let (page, total) = store.all_sheets(status, limit, offset).await?;
        let ids: Vec<i64> = page.iter().map(|s| s.id).collect();
        let retries = store.sheet_retries(&ids).await?;
        let mut sheets: Vec<RegistrySheet> = page.into_iter().map(RegistrySheet::from).collect();
        for (id, n, error) in retries {
            if let Some(s) = sheets.iter_mut().find(|s| s.id == id) {
                s.job.retries = n;
                if s.job.state == JobState::Pending {
                    s.job.state = JobState::Retrying;
                    s.job.reason = Some(error);
                }
            }
        }
        Ok(SheetsPage {
            total,
            limit,
            offset,
            sheets,
            queue: self.queue_stats().await,
        })
    }

    /// The dead-lettered jobs (their sheets marked failed), newest first, with the reasons.
    pub async fn dead_letters(
        &self,
        who: &Principal,
        limit: u32,
        offset: u32,
    ) -> ServiceResult<SheetsPage> {
        self.registry_sheets(who, Some(SheetStatus::Failed), limit, offset)
            .await
    }
}
