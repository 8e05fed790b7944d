//! The waiting room for sign-ins: password hashing (argon2id, CPU-bound by design) runs on a
//! bounded pool of `auth.hash_workers` threads at a time, and a sign-in that could not start
//! hashing within `auth.hash_queue_ms` is answered at once with when to come back, instead of
//! queueing. The pool measures how long a hash takes, so it knows how long its queue is in
//! time: a sign-in that would wait too long is refused before it waits at all, and the few
//! admitted to wait give up at the bound all the same.
//!
//! Refused sign-ins are given appointments: `Retry-After` counts whole seconds, so those
//! told the same second come back together, and each second is booked only with as many as
//! the pool can start within its bound when they arrive at once; the next are told the
//! second after. A storm of thousands thus comes back spread out, each admitted when it
//! returns, instead of all at once a second later and refused again. Appointments are only
//! a count per second; nothing is held for them, so memory goes back to its baseline as soon
//! as the storm passes.
//!
//! This module must never let a request wait without bound, nor run a hash on the threads
//! that serve requests.

use super::{ServiceError, ServiceResult};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// What a hash is assumed to take until one has been measured (argon2id at OWASP
/// parameters takes 15–60 ms on one core).
const FIRST_GUESS: Duration = Duration::from_millis(50);

/// Nobody is told to come back later than this; past it the appointments stop moving on (a
/// storm that long is better told "a minute" than "an hour").
const LONGEST_WAIT: Duration = Duration::from_secs(60);

pub struct HashPool {
    workers: usize,
    slots: Arc<Semaphore>,
    /// Sign-ins waiting for a slot now.
    waiting: AtomicUsize,
    max_waiting: usize,
    max_wait: Duration,
    /// A moving average of how long one hash takes, in microseconds.
    hash_micros: Arc<AtomicU64>,
    /// The second (since `started`) being booked, and how many are booked in it.
    appointments: Mutex<(u64, u64)>,
    started: Instant,
}

impl HashPool {
    /// `workers` hashes at once (0: one per available core); at most `max_waiting` sign-ins
    /// waiting, none for longer than `max_wait`.
    pub fn new(workers: usize, max_waiting: usize, max_wait: Duration) -> Self {
        let workers = match workers {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        HashPool {
            workers,
            slots: Arc::new(Semaphore::new(workers)),
            waiting: AtomicUsize::new(0),
            max_waiting,
            max_wait,
            hash_micros: Arc::new(AtomicU64::new(FIRST_GUESS.as_micros() as u64)),
            appointments: Mutex::new((0, 0)),
            started: Instant::now(),
        }
    }

    /// Hashes run at once.
    pub fn workers(&self) -> usize {
        self.workers
    }

    /// Sign-ins waiting for a slot now (none once a storm has passed).
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::SeqCst)
    }

    /// How long one hash takes, as measured lately.
    pub fn hash_time(&self) -> Duration {
        Duration::from_micros(self.hash_micros.load(Ordering::Relaxed))
    }

    /// How long a sign-in arriving now would wait for a slot, `ahead` being those waiting.
    fn expected_wait(&self, ahead: usize) -> Duration {
        if self.slots.available_permits() > 0 && ahead == 0 {
            return Duration::ZERO;
        }
        // Those ahead are served `workers` at a time, and the hashes running now are on
        // average half done.
        let rounds = ahead as u32 / self.workers as u32;
        self.hash_time() * rounds + self.hash_time() / 2
    }

    /// How many arriving at once the pool can start within its bound.
    fn per_second(&self) -> u64 {
        let hash = self.hash_time().as_secs_f64().max(1e-6);
        ((self.max_wait.as_secs_f64() * self.workers as f64 / hash) as u64).max(1)
    }

    /// The refusal for a sign-in that cannot start hashing soon enough, with an
    /// appointment in the first second that has room (see the module's note).
    fn come_back_later(&self, wait_for_queue: Duration) -> ServiceError {
        let since = self.started.elapsed();
        let earliest = (since + wait_for_queue).as_secs() + 1;
        let latest = since.as_secs() + LONGEST_WAIT.as_secs();
        let capacity = self.per_second();
        let second = {
            let mut booked = self
                .appointments
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if booked.0 < earliest {
                *booked = (earliest, 0);
            }
            if booked.1 >= capacity {
                *booked = (booked.0 + 1, 0);
            }
            if booked.0 > latest {
                // Full as far as anyone is told: the last second, without booking it.
                latest
            } else {
                booked.1 += 1;
                booked.0
            }
        };
        let wait = Duration::from_secs(second).saturating_sub(since);
        let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
        ServiceError::Overloaded {
            message: format!(
                "too many people are signing in right now; please try again in {}",
                super::throttle::in_words(secs)
            ),
            retry_after_secs: secs,
        }
    }

    /// Enters the waiting room: a ticket to hash with, or at once the refusal saying when to
    /// come back. Taken before any other work of a sign-in (reading the account), so a
    /// refused sign-in costs next to nothing.
    pub fn enter(&self) -> ServiceResult<Ticket<'_>> {
        let ahead = self.waiting.fetch_add(1, Ordering::SeqCst);
        let ticket = Ticket { pool: self, ahead };
        let expected = self.expected_wait(ahead);
        if ahead >= self.max_waiting || expected > self.max_wait {
            return Err(self.come_back_later(expected));
        }
        Ok(ticket)
    }

    /// Runs `f` (a hash or a verification) on a pool thread once a slot is free, or refuses
    /// at once if that would take longer than the pool's bound.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> ServiceResult<T> {
        self.enter()?.run(f).await
    }
}

/// A place in the waiting room (see [`HashPool::enter`]); leaving it (by hashing, or by
/// dropping it when the request ends) frees the place.
pub struct Ticket<'a> {
    pool: &'a HashPool,
    ahead: usize,
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        self.pool.waiting.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Ticket<'_> {
    /// Runs `f` on a pool thread once a slot is free, waiting at most the pool's bound.
    pub async fn run<T: Send + 'static>(
        self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> ServiceResult<T> {
        let pool = self.pool;
        let permit =
            match tokio::time::timeout(pool.max_wait, pool.slots.clone().acquire_owned()).await {
                Ok(Ok(permit)) => permit,
                Ok(Err(e)) => return Err(ServiceError::Internal(e.into())),
                Err(_) => return Err(pool.come_back_later(pool.expected_wait(self.ahead))),
            };
        drop(self);
        let average = pool.hash_micros.clone();
        // The slot goes with the hash, not with the request: a request abandoned at its
        // deadline cannot cancel a blocking hash, and must not free its slot while it runs.
        tokio::task::spawn_blocking(move || {
            let _slot = permit;
            let started = Instant::now();
            let out = f();
            let took = started.elapsed().as_micros() as u64;
            // An average over the last few hashes (weight 1/8), kept without a lock.
            let _ = average.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |old| {
                Some((old * 7 + took) / 8)
            });
            out
        })
        .await
        .map_err(|e| ServiceError::Internal(anyhow::anyhow!("hashing task failed: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal_secs(e: ServiceError) -> u64 {
        match e {
            ServiceError::Overloaded {
                retry_after_secs, ..
            } => retry_after_secs,
            other => panic!("expected a refusal, got {other}"),
        }
    }

    #[test]
    fn each_second_is_booked_with_what_the_pool_can_start_within_its_bound() {
        let pool = HashPool::new(2, 10, Duration::from_millis(500));
        pool.hash_micros.store(100_000, Ordering::Relaxed); // 100 ms a hash, 2 at once
                                                            // 10 a second can start within 500 ms of arriving together: 200 refusals fill 20.
        let waits: Vec<u64> = (0..200)
            .map(|_| refusal_secs(pool.come_back_later(Duration::ZERO)))
            .collect();
        assert!(waits.windows(2).all(|w| w[0] <= w[1]), "{waits:?}");
        assert!(waits[..10].iter().all(|w| *w == waits[0]), "{waits:?}");
        assert_eq!(waits[10], waits[0] + 1, "{waits:?}");
        assert_eq!(waits[199], waits[0] + 19, "{waits:?}");
        assert!(waits[0] <= 2, "{waits:?}");
    }

    #[test]
    fn nobody_is_told_to_wait_longer_than_a_minute() {
        let pool = HashPool::new(1, 10, Duration::from_millis(500));
        pool.hash_micros.store(1_000_000, Ordering::Relaxed);
        let last = (0..500)
            .map(|_| refusal_secs(pool.come_back_later(Duration::ZERO)))
            .last();
        assert_eq!(last, Some(LONGEST_WAIT.as_secs()));
    }

    #[test]
    fn zero_workers_means_one_per_core() {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        assert_eq!(HashPool::new(0, 1, Duration::from_secs(1)).workers(), cores);
        assert_eq!(HashPool::new(3, 1, Duration::from_secs(1)).workers(), 3);
    }
}
