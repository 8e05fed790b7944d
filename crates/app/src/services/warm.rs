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
//! old results back), taking its turn behind any read loading the same student.

use super::Services;
use eportal_core::MatricNo;
use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::{watch, Notify};

/// How long the warmer lets publications gather before it starts loading.
const GATHER: Duration = Duration::from_millis(300);

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
    /// Runs the cache warmer until `shutdown` turns true.
    pub async fn run_warmer(&self, mut shutdown: watch::Receiver<bool>) {
        loop {
            tokio::select! {
                _ = self.warmer.wake.notified() => {}
                _ = shutdown.changed() => return,
            }
            tokio::select! {
                _ = tokio::time::sleep(GATHER) => {}
                _ = shutdown.changed() => return,
            }
            for m in self.warmer.take() {
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
