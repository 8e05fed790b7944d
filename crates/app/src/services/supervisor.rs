//! Keeps `worker.concurrency` worker loops running: a loop that dies (a panic in a handler or
//! in a library it calls) is counted in `eportal_worker_restarts_total` and started again, and
//! `eportal_workers_alive` always says how many loops run, so `/readyz` can tell an operator
//! that a worker process has stopped working even though it still answers HTTP.
//!
//! The job a dead loop held is not lost: its lease runs out and the queue delivers it again,
//! counted as one more delivery, until the worker's delivery limit sets it aside. This module
//! must never retry a job itself, nor catch a panic and carry on inside the same loop (the
//! loop's state after a panic is unknown; a fresh loop is not).

use super::Services;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::{Id, JoinSet};

/// The pause before a dead loop is started again, doubled for each death in a row (up to
/// [`MAX_PAUSE`]), so a loop that dies at once every time does not spin a core.
const FIRST_PAUSE: Duration = Duration::from_millis(100);
const MAX_PAUSE: Duration = Duration::from_secs(5);
/// A loop that ran this long before dying resets the pause to [`FIRST_PAUSE`].
const SETTLED: Duration = Duration::from_secs(30);

impl Services {
    /// Runs `worker.concurrency` job loops until `shutdown` turns true, restarting any that
    /// dies.
    pub async fn run_workers(&self, mut shutdown: watch::Receiver<bool>) {
        let alive = &self.metrics.workers_alive;
        let mut set = JoinSet::new();
        let mut slots: std::collections::HashMap<Id, (usize, tokio::time::Instant)> =
            Default::default();
        let mut pause = FIRST_PAUSE;
        let stop_signal = shutdown.clone();
        let spawn = |set: &mut JoinSet<()>, slots: &mut std::collections::HashMap<_, _>, n| {
            let me = self.clone();
            let stop = stop_signal.clone();
            let handle = set.spawn(async move { me.worker_loop(n, stop).await });
            slots.insert(handle.id(), (n, tokio::time::Instant::now()));
            alive.inc();
        };
        for n in 0..self.config.worker.concurrency {
            spawn(&mut set, &mut slots, n);
        }
        while let Some(ended) = set.join_next_with_id().await {
            alive.dec();
            let id = match &ended {
                Ok((id, ())) => *id,
                Err(e) => e.id(),
            };
            let Some((n, since)) = slots.remove(&id) else {
                continue;
            };
            if *shutdown.borrow() {
                continue;
            }
            match ended {
                Ok(_) => {
                    tracing::error!(worker = n, "worker stopped on its own; starting it again")
                }
                Err(e) if e.is_panic() => {
                    let why = panic_message(e.into_panic());
                    tracing::error!(worker = n, panic = %why, "worker died; starting it again (the job it held comes back when its lease runs out)");
                }
                Err(e) => {
                    tracing::error!(worker = n, error = %e, "worker was cancelled; starting it again")
                }
            }
            self.metrics.worker_restarts.inc();
            pause = if since.elapsed() >= SETTLED {
                FIRST_PAUSE
            } else {
                (pause * 2).min(MAX_PAUSE)
            };
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = shutdown.changed() => {}
            }
            if !*shutdown.borrow() {
                spawn(&mut set, &mut slots, n);
            }
        }
    }
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_string()
    }
}
