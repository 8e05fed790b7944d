//! The outbox relay (buffer mode, step 2), for deployments whose queue is a separate engine
//! (PostgreSQL + RabbitMQ): moves jobs written in the store's outbox, in the same transaction
//! as their sheet, onto the job queue. Any number of portal processes may run it: the store
//! hands each pending entry to one relay at a time, and a relay that dies mid-way lets its
//! claim expire so another picks the entries up. Delivery is at least once; workers are
//! idempotent.
//!
//! Under a queue discipline other than FIFO the store hands entries out in discipline order,
//! to one relay at a time, and the relay keeps at most `EPORTAL_WORKER__RELEASE_WINDOW` jobs
//! waiting in the broker: the rest wait in the outbox, where the discipline still chooses
//! among every one of them. See docs/queue-disciplines.md.

use super::Services;
use eportal_core::discipline::Discipline;
use std::time::Duration;
use tokio::sync::watch;

/// How soon the relay looks again when the window was full: the workers are busy with the
/// jobs in it and free a place every few milliseconds when sheets are small, so waiting a
/// whole idle poll would leave them without work (measured: distributed `lifo` 45% slower
/// than `fifo` on the disciplines benchmark's burst with 200 ms).
const FULL_WINDOW_RECHECK: Duration = Duration::from_millis(20);

impl Services {
    /// Publishes pending outbox entries once; returns how many were handed to the queue.
    pub async fn relay_once(&self) -> Result<usize, eportal_ports::PortError> {
        self.relay_round().await.map(|(n, _)| n)
    }

    /// One round of the relay: how many entries it published, and whether the release
    /// window had no room for any.
    async fn relay_round(&self) -> Result<(usize, bool), eportal_ports::PortError> {
        let store = &self.ports.store;
        let room = self.release_room().await?;
        let pending = store.outbox_pending(room).await?;
        let mut done = Vec::with_capacity(pending.len());
        let mut failed = None;
        for (id, envelope) in &pending {
            match self.ports.queue.publish(envelope).await {
                Ok(()) => done.push(*id),
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        if !done.is_empty() {
            store.outbox_done(&done).await?;
        }
        match failed {
            Some(e) => Err(e),
            None => Ok((done.len(), room == 0)),
        }
    }

    /// How many jobs to release now: a batch under FIFO; under another discipline, what the
    /// window has room for beside the jobs already waiting in the broker.
    async fn release_room(&self) -> Result<u32, eportal_ports::PortError> {
        const BATCH: u32 = 200;
        let w = &self.config.worker;
        if w.discipline == Discipline::Fifo {
            return Ok(BATCH);
        }
        let waiting = self.ports.queue.stats().await?.ready;
        let room = u64::from(w.release_window).saturating_sub(waiting);
        Ok(u32::try_from(room).unwrap_or(BATCH).min(BATCH))
    }

    /// Runs the relay until `shutdown` turns true.
    pub async fn run_relay(&self, mut shutdown: watch::Receiver<bool>) {
        let idle = Duration::from_millis(self.config.worker.poll_ms);
        while !*shutdown.borrow() {
            let pause = match self.relay_round().await {
                Ok((n, _)) if n > 0 => None,
                Ok((_, true)) => Some(FULL_WINDOW_RECHECK.min(idle)),
                Ok(_) => Some(idle),
                Err(e) => {
                    tracing::warn!(error = %e, "outbox relay cannot publish; jobs stay in the outbox");
                    Some(Duration::from_secs(1))
                }
            };
            if let Some(p) = pause {
                tokio::select! {
                    _ = tokio::time::sleep(p) => {}
                    _ = shutdown.changed() => {}
                }
            }
        }
    }
}
