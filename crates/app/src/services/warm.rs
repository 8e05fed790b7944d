//! Warming the results cache after publication, so the first reads of results day are hits.
//!
//! Publishing a course invalidates its students' cached results at once (that is
//! correctness, and happens in [`Services::course_action`]); refilling them is only an
//! optimisation and happens here, in one background task per portal process. Students are
//! collected in a set, so a burst of publications (senate publishing a whole faculty) warms
//! each student once, not once per course; the task waits a moment for a burst to gather.
//!
//! Never let warming delay a request: it runs after the request has been answered, and a
//! warm-up that fails only leaves a cache miss behind. A warm-up always loads from the store
//! (it does not trust what the cache holds: a read racing the invalidation may have put the
//! old results back), taking its turn behind any read loading the same student; and each
//! batch is warmed a second time a little later, for the reads of other portals (sharing the
//! cache on Redis) whose late writes no lock of this process can order.

use super::Services;
use eportal_core::MatricNo;
use std::collections::{HashSet, VecDeque};
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::{watch, Notify};
use tokio::time::Instant;

/// How long the warmer lets publications gather before it starts loading.
const GATHER: Duration = Duration::from_millis(300);
/// Beyond the store timeout, before a batch is warmed the second time: a cache write that
/// left just before that timeout has landed by then.
const RECHECK_MARGIN: Duration = Duration::from_secs(1);

#[derive(Default)]
pub struct Warmer {
    pending: Mutex<HashSet<MatricNo>>,
    wake: Notify,
}

impl Warmer {
    /// Asks for these students' results to be loaded into the cache soon.
    pub fn enqueue(&self, students: impl IntoIterator<Item = MatricNo>) {
        let mut p = self.pending.lock().expect("warmer set is never poisoned");
        p.extend(students);
        drop(p);
        self.wake.notify_one();
    }

    /// How many students wait to be warmed.
    pub fn pending(&self) -> usize {
        self.pending
            .lock()
            .expect("warmer set is never poisoned")
            .len()
    }

    fn take(&self) -> Vec<MatricNo> {
        let mut p = self.pending.lock().expect("warmer set is never poisoned");
        p.drain().collect()
    }
}

impl Services {
    /// Runs the cache warmer until `shutdown` turns true. Each batch is warmed twice: at once,
    /// and again once every results read that began before the publication has given up or
    /// finished (`results_store_timeout_ms` and a second more). A read of another portal that
    /// loaded the old results just before the publication could otherwise put them back after
    /// the first warm-up, to be served until they expire.
    pub async fn run_warmer(&self, mut shutdown: watch::Receiver<bool>) {
        let recheck = Duration::from_millis(self.config.results_store_timeout_ms) + RECHECK_MARGIN;
        let mut again: VecDeque<(Instant, Vec<MatricNo>)> = VecDeque::new();
        loop {
            let next = again.front().map(|(at, _)| *at);
            let batch = tokio::select! {
                _ = self.warmer.wake.notified() => {
                    tokio::select! {
                        _ = tokio::time::sleep(GATHER) => {}
                        _ = shutdown.changed() => return,
                    }
                    let batch = self.warmer.take();
                    again.push_back((Instant::now() + recheck, batch.clone()));
                    batch
                }
                _ = tokio::time::sleep_until(next.unwrap_or_else(Instant::now)), if next.is_some() => {
                    again.pop_front().map(|(_, b)| b).unwrap_or_default()
                }
                _ = shutdown.changed() => return,
            };
            for m in batch {
                if *shutdown.borrow() {
                    return;
                }
                if let Err(e) = self.warm_results(&m).await {
                    tracing::debug!(matric = %m, error = %e, "cache warm-up skipped a student");
                }
            }
        }
    }
}
