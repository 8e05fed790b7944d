//! The job queue of buffer mode. Delivery is at least once: a job is leased to one worker
//! at a time, and comes back if the worker does not acknowledge it in time (it crashed), so
//! every job handler must be idempotent.
//!
//! Jobs enter the queue through the record store's outbox (written in the same transaction
//! as the sheet), not through `publish` directly: `publish` is for the outbox relay.

use crate::error::PortResult;
use async_trait::async_trait;
use eportal_core::jobs::Envelope;
use serde::Serialize;
use std::time::Duration;

/// One job handed to a worker.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// The adapter's handle for ack/retry/dead-letter (a row id, a delivery tag, …).
    pub tag: String,
    pub envelope: Envelope,
    /// How many times this job has been handed to a worker, this delivery included: 1 on
    /// first delivery, +1 on every retry and on every redelivery after a lease that was never
    /// settled (the worker died, hung, or lost its connection). Adapters count deliveries,
    /// not completed attempts, so a job that kills its worker before it can settle still
    /// counts up, and the worker can set it aside once it has been delivered too often.
    pub attempt: u32,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct QueueStats {
    /// Waiting to be taken now.
    pub ready: u64,
    /// Taken by a worker, not yet acknowledged.
    pub in_flight: u64,
    /// Waiting for a retry delay to pass.
    pub delayed: u64,
    /// Given up on, with a reason.
    pub dead: u64,
}

#[async_trait]
pub trait JobQueue: Send + Sync {
    /// Puts a job on the queue (used by the outbox relay and by tests).
    async fn publish(&self, envelope: &Envelope) -> PortResult<()>;

    /// Takes the next job, leased to the caller for `lease`; `None` if none is ready now.
    async fn receive(&self, lease: Duration) -> PortResult<Option<Delivery>>;

    /// The job's effect is committed: remove it for good.
    async fn ack(&self, delivery: &Delivery) -> PortResult<()>;

    /// The job failed but may succeed later: deliver it again after `delay`.
    async fn retry(&self, delivery: &Delivery, delay: Duration, error: &str) -> PortResult<()>;

    /// The job will never succeed: keep it, with the reason, in the dead-letter place.
    async fn dead_letter(&self, delivery: &Delivery, error: &str) -> PortResult<()>;

    async fn stats(&self) -> PortResult<QueueStats>;
}
