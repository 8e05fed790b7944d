//! Workers (buffer mode, step 3): take jobs from the queue, apply them in one transaction,
//! acknowledge only after the commit. A job that fails for a passing reason (an engine is
//! down) is retried with jittered exponential backoff; one that can never succeed, or that
//! has used up its attempts, goes to the dead-letter place with the reason, and its sheet is
//! marked failed so the lecturer is told.
//!
//! Every handler is idempotent: a job delivered twice (a worker died after committing but
//! before acknowledging) finds its sheet already final and changes nothing.
//!
//! Deliveries are counted, not completed attempts: a job that kills its worker (or the whole
//! process) never reaches the retry schedule, so a job delivered more than
//! `worker.max_deliveries` times is set aside when it is received, before it can run again.
//! This module must never run a job past that limit.

use super::{ServiceError, Services};
use eportal_core::jobs::Job;
use eportal_core::sheet::{self, SheetLimits};
use eportal_ports::{ApplyOutcome, Delivery, PortError, Refreshed, SheetOutcome};
use rand::Rng;
use std::time::Duration;
use tokio::sync::watch;
use tracing::Instrument;

/// Why a job did not complete.
#[derive(Debug)]
pub enum JobFailure {
    /// May succeed later (an engine was unavailable): retry.
    Transient(String),
    /// Will never succeed: dead-letter now.
    Permanent(String),
}

impl From<PortError> for JobFailure {
    fn from(e: PortError) -> Self {
        if e.is_transient() {
            JobFailure::Transient(e.to_string())
        } else {
            JobFailure::Permanent(e.to_string())
        }
    }
}

/// Students a refresh recomputes in one transaction: about a quarter of a second of the
/// SQLite writer, so an upload waits at most that long behind it.
const REFRESH_CHUNK: u32 = 4_000;

impl Services {
    pub(super) async fn worker_loop(&self, n: usize, shutdown: watch::Receiver<bool>) {
        tracing::debug!(worker = n, "worker started");
        self.writer_turn.scope(self.take_jobs(n, shutdown)).await;
        tracing::debug!(worker = n, "worker stopped");
    }

    async fn take_jobs(&self, n: usize, mut shutdown: watch::Receiver<bool>) {
        let lease = Duration::from_millis(self.config.worker.lease_ms);
        let idle = Duration::from_millis(self.config.worker.poll_ms);
        while !*shutdown.borrow() {
            // Taking a job writes (with one writer, in turn: see writer_turn.rs); the turn is
            // held from the last job's apply and settlement, and let go to read the sheet.
            self.writer_turn.take().await;
            let pause = match self.ports.queue.receive(lease).await {
                Ok(Some(d)) => {
                    self.run_delivery(&d).await;
                    None
                }
                Ok(None) => Some(idle),
                Err(e) => {
                    tracing::warn!(worker = n, error = %e, "cannot take jobs from the queue");
                    Some(idle.max(Duration::from_secs(1)))
                }
            };
            if let Some(p) = pause {
                self.writer_turn.release();
                tokio::select! {
                    _ = tokio::time::sleep(p) => {}
                    _ = shutdown.changed() => {}
                }
            }
        }
    }

    /// Handles one delivery and settles it with the queue (ack, retry or dead-letter).
    pub async fn run_delivery(&self, d: &Delivery) {
        if d.attempt > 1 {
            self.metrics.jobs_redelivered.inc();
        }
        let span = tracing::info_span!(
            "job",
            tag = %d.tag,
            attempt = d.attempt,
            request_id = d.envelope.request_id.as_deref().unwrap_or("-")
        );
        async {
            let queue = &self.ports.queue;
            let limit = self.config.worker.max_deliveries;
            if d.attempt > limit {
                let why = match d.envelope.job {
                    Job::ProcessSheet { .. } => format!(
                        "processing this sheet stopped the worker {limit} times without finishing; \
                         it was set aside so that it cannot stop it again. Check the file, or export \
                         it again from the spreadsheet and upload the new copy"
                    ),
                    Job::RefreshResults => format!(
                        "recomputing stale GPAs stopped the worker {limit} times without \
                         finishing; it was set aside, and the next applied sheet queues it again. \
                         Read the workers' logs"
                    ),
                    _ => format!(
                        "this regrade task stopped the worker {limit} times without finishing; \
                         it was set aside and the regrade stopped, with the grading policy before it \
                         still active. Read the workers' logs, then change the policy again"
                    ),
                };
                if let Err(e) = self.give_up(d, &why).await {
                    tracing::warn!(error = %e, "could not set the job aside; it will be redelivered");
                }
                return;
            }
            self.writer_turn.release();
            let result = self.handle_job(&d.envelope.job).await;
            self.writer_turn.take().await;
            let settled = match result {
                Ok(()) => {
                    self.metrics.jobs.with_label_values(&["done"]).inc();
                    queue.ack(d).await
                }
                Err(JobFailure::Transient(why)) => {
                    let jitter = rand::thread_rng().gen_range(0..=1000u16);
                    match self.config.worker.retry.delay(d.attempt, jitter) {
                        Some(delay) => {
                            tracing::warn!(error = %why, delay_ms = delay.as_millis() as u64, "job failed; will retry");
                            self.metrics.jobs.with_label_values(&["retried"]).inc();
                            if let Job::ProcessSheet { sheet_id } = d.envelope.job {
                                // Only for the registry's view: a failed note must not hold up the retry.
                                if let Err(e) = self.ports.store.note_retry(sheet_id, &why).await {
                                    tracing::debug!(sheet_id, error = %e, "could not note the retry");
                                }
                            }
                            queue.retry(d, delay, &why).await
                        }
                        None => self.give_up(d, &format!("gave up after {} attempts: {why}", d.attempt)).await,
                    }
                }
                Err(JobFailure::Permanent(why)) => self.give_up(d, &why).await,
            };
            if let Err(e) = settled {
                // The lease runs out and the job comes back: handlers are idempotent.
                tracing::warn!(error = %e, "could not settle the job with the queue; it will be redelivered");
            }
        }
        .instrument(span)
        .await
    }

    async fn give_up(&self, d: &Delivery, why: &str) -> Result<(), PortError> {
        tracing::error!(error = %why, "job dead-lettered");
        self.metrics.jobs.with_label_values(&["dead"]).inc();
        match d.envelope.job {
            Job::ProcessSheet { sheet_id } => {
                if let Err(e) = self.ports.store.fail_sheet(sheet_id, why).await {
                    tracing::warn!(sheet_id, error = %e, "could not mark the sheet failed");
                } else {
                    self.metrics.sheets.with_label_values(&["failed"]).inc();
                }
            }
            Job::RegradeMap { regrade_id, .. }
            | Job::RegradeReduce { regrade_id, .. }
            | Job::RegradeCommit { regrade_id } => {
                if let Err(e) = self.ports.store.fail_regrade(regrade_id, why).await {
                    tracing::warn!(regrade_id, error = %e, "could not mark the regrade failed");
                }
            }
            // The marks stay; the next applied sheet queues another refresh.
            Job::RefreshResults => {}
        }
        self.ports.queue.dead_letter(d, why).await
    }

    async fn handle_job(&self, job: &Job) -> Result<(), JobFailure> {
        match job {
            Job::ProcessSheet { sheet_id } => self.process_sheet(*sheet_id).await,
            Job::RegradeMap { regrade_id, part } => self.regrade_map(*regrade_id, *part).await,
            Job::RegradeReduce { regrade_id, part } => {
                self.regrade_reduce(*regrade_id, *part).await
            }
            Job::RegradeCommit { regrade_id } => self.regrade_commit(*regrade_id).await,
            Job::RefreshResults => self.refresh_results().await,
        }
    }

    /// Recomputes the stored GPAs of every student applied sheets marked stale, a chunk a
    /// transaction (so uploads and applies are never held up for long), until none is left
    /// that another refresh does not hold. Idempotent: a refresh with nothing to do is a no-op.
    pub async fn refresh_results(&self) -> Result<(), JobFailure> {
        let store = &self.ports.store;
        let mut fresh = false;
        loop {
            let book = if fresh {
                self.policies.active_now().await?
            } else {
                self.policies.active().await?
            };
            match store.refresh_results(&book, REFRESH_CHUNK).await? {
                Refreshed::PolicyChanged { active } if !fresh => {
                    tracing::info!(
                        book_version = book.version,
                        active,
                        "the grading policy changed; refreshing under the new one"
                    );
                    fresh = true;
                }
                Refreshed::PolicyChanged { active } => {
                    return Err(JobFailure::Transient(format!(
                        "the grading policy changed to version {active} during the refresh"
                    )))
                }
                Refreshed::Done { students, left } => {
                    self.metrics.results_refreshed.inc_by(students);
                    if students > 0 {
                        tracing::info!(students, left, "stale semester results recomputed");
                    }
                    // Nothing taken: what is left is held by another refresh, which ends it.
                    if students == 0 || left == 0 {
                        return Ok(());
                    }
                }
            }
        }
    }

    /// Parses, validates and applies one sheet. Idempotent.
    pub async fn process_sheet(&self, sheet_id: i64) -> Result<(), JobFailure> {
        let store = &self.ports.store;
        let Some(report) = store.sheet(sheet_id).await? else {
            return Err(JobFailure::Permanent(format!(
                "score sheet {sheet_id} does not exist"
            )));
        };
        let summary = report.sheet;
        if summary.status.is_final() {
            tracing::info!(
                sheet_id,
                status = summary.status.as_str(),
                "sheet already final; nothing to do"
            );
            return Ok(());
        }
        super::faults::before_processing(&summary.sha256)?;
        let bytes = self
            .ports
            .blobs
            .get(&summary.sha256)
            .await?
            .ok_or_else(|| {
                JobFailure::Permanent(format!(
                    "the uploaded file of sheet {sheet_id} ({}) is missing from storage",
                    summary.sha256
                ))
            })?;
        let limits = SheetLimits {
            max_bytes: self.config.limits.max_upload_bytes,
            max_rows: self.config.limits.max_sheet_rows,
            ..SheetLimits::default()
        };
        // The sheet with its roster, read once whatever book it is judged under.
        let started = std::time::Instant::now();
        let parsed = self.parse_isolated(bytes, &limits).await?;
        let read_ms = started.elapsed().as_millis() as u64;
        let parsed = match parsed {
            Ok(p) => {
                let roster = store.roster(&summary.term, &p.matric_numbers()).await?;
                Ok((p, roster))
            }
            Err(e) => Err(e),
        };
        let roster_ms = started.elapsed().as_millis() as u64 - read_ms;
        let mut apply_ms = 0;
        let session = summary.term.session;
        // Judged under the active book; if a regrade switches before the sheet is applied,
        // the store refuses it and it is judged again under the new book.
        let mut fresh = false;
        let (applied, outcome, version) = loop {
            let book = if fresh {
                self.policies.active_now().await?
            } else {
                self.policies.active().await?
            };
            let outcome = match &parsed {
                Ok((parsed, roster)) => {
                    // A student the roster does not know is refused before any grading.
                    let policy_of = |m: &eportal_core::MatricNo| match roster.entry.get(m) {
                        Some(&entry) => book.for_record(entry, session),
                        None => book.for_session(session),
                    };
                    let judged = sheet::validate_by(parsed, roster, &policy_of);
                    SheetOutcome::Judged {
                        accepted: judged.accepted,
                        rejected: judged.rejected,
                    }
                }
                Err(e) => SheetOutcome::Rejected {
                    message: e.to_string(),
                },
            };
            let outcome = super::sheet_verdict::nothing_accepted_is_rejected(outcome);
            // From here to taking the next job, this worker writes (writer_turn.rs).
            self.writer_turn.take().await;
            let applying = std::time::Instant::now();
            let applied = store.apply_sheet(sheet_id, &outcome, &book).await?;
            apply_ms += applying.elapsed().as_millis() as u64;
            match applied {
                ApplyOutcome::PolicyChanged { active } if !fresh => {
                    tracing::info!(
                        sheet_id,
                        judged_under = book.version,
                        active,
                        "the grading policy changed while the sheet was judged; judging it again"
                    );
                    fresh = true;
                }
                ApplyOutcome::PolicyChanged { active } => {
                    return Err(JobFailure::Transient(format!(
                        "the grading policy changed to version {active} while the sheet was judged"
                    )))
                }
                applied => break (applied, outcome, book.version),
            }
        };
        match (&applied, &outcome) {
            (ApplyOutcome::Applied { affected }, SheetOutcome::Judged { accepted, rejected }) => {
                self.metrics
                    .sheet_rows
                    .with_label_values(&["accepted"])
                    .inc_by(accepted.len() as u64);
                self.metrics
                    .sheet_rows
                    .with_label_values(&["rejected"])
                    .inc_by(rejected.len() as u64);
                self.metrics.sheets.with_label_values(&["processed"]).inc();
                self.forget_results_under(version, affected).await;
                // Where the sheet's time went: reading it (in the child), its roster, and the
                // store's transaction (waiting for the writer included).
                tracing::info!(
                    sheet_id,
                    accepted = accepted.len(),
                    rejected = rejected.len(),
                    read_ms,
                    roster_ms,
                    apply_ms,
                    total_ms = started.elapsed().as_millis() as u64,
                    "sheet applied"
                );
            }
            (ApplyOutcome::Applied { .. }, SheetOutcome::Rejected { message }) => {
                self.metrics.sheets.with_label_values(&["rejected"]).inc();
                tracing::info!(sheet_id, reason = %message, "sheet rejected as a whole");
            }
            (ApplyOutcome::SupersededAlready { by }, _) => {
                self.metrics.sheets.with_label_values(&["superseded"]).inc();
                tracing::info!(
                    sheet_id,
                    by,
                    "a newer sheet was applied first; this one is superseded"
                );
            }
            (ApplyOutcome::Held { removed }, _) => {
                self.metrics.sheets.with_label_values(&["held"]).inc();
                tracing::info!(
                    sheet_id,
                    removed,
                    "sheet held: it would remove scores, which its lecturer must confirm"
                );
            }
            // Judged again above until the store took it.
            (ApplyOutcome::PolicyChanged { .. }, _) => {}
            (ApplyOutcome::AlreadyFinal { status }, _) => {
                tracing::info!(
                    sheet_id,
                    status = status.as_str(),
                    "sheet became final meanwhile"
                );
            }
        }
        Ok(())
    }
}

impl From<ServiceError> for JobFailure {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Unavailable(m) => JobFailure::Transient(m),
            other => JobFailure::Permanent(other.to_string()),
        }
    }
}
