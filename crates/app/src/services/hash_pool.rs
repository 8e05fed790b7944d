//! The waiting room for sign-ins: password hashing (argon2id, CPU-bound by design) runs on a
//! bounded pool of `auth.hash_workers` threads at a time, and a sign-in that could not start
//! hashing within `auth.hash_queue_ms` is answered at once with when to come back, instead of
//! queueing. The pool measures how long a hash takes, so it knows how long its queue is in
//! time: a sign-in that would wait too long is refused before it waits at all, and the few
//! admitted to wait give up at the bound all the same.
//!
//! Refused sign-ins are given appointments ([`super::appointments`]): when to come back, and
//! a moment to hold the refusal so that the storm comes back as evenly as the pool works
//! through it. Appointments are only counts; nothing is held for them, so memory goes back
//! to its baseline as soon as the storm passes.
//!
//! The hashes run on threads of their own below the priority of those serving requests
//! ([`super::hashers`]), so a storm's refusals and everybody's reads go first; the pool
//! books its appointments by the CPU time a hash takes, which that waiting does not inflate.
//!
//! This module must never let a request wait without bound, nor run a hash on the threads
//! that serve requests.

use super::appointments::{Appointment, Calendar};
use super::hashers::{thread_cpu_time, Hashers};
use super::{ServiceError, ServiceResult};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// What a hash is assumed to take until one has been measured (argon2id at OWASP
/// parameters takes 15–60 ms on one core).
const FIRST_GUESS: Duration = Duration::from_millis(50);
/// [`FIRST_GUESS`] in microseconds, as the average holds it until the first hash is timed.
const GUESSED: u64 = FIRST_GUESS.as_micros() as u64;

/// Hashes timed at start (see [`HashPool::calibrate`]).
const CALIBRATION_HASHES: usize = 2;

pub struct HashPool {
    workers: usize,
    slots: Arc<Semaphore>,
    /// Sign-ins waiting for a slot now.
    waiting: AtomicUsize,
    max_waiting: usize,
    max_wait: Duration,
    /// A moving average of how long one hash takes, in microseconds.
    hash_micros: Arc<AtomicU64>,
    /// A moving average of the CPU time of one hash, in microseconds: what a hash costs
    /// the pool, however long it waited for a core. What the appointments are booked by.
    cpu_micros: Arc<AtomicU64>,
    /// Appointments booked so far (see the module's note).
    appointments: Mutex<Calendar>,
    started: Instant,
    /// The threads the hashes run on, below the priority of those serving requests.
    hashers: Hashers,
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
            hash_micros: Arc::new(AtomicU64::new(GUESSED)),
            cpu_micros: Arc::new(AtomicU64::new(GUESSED)),
            appointments: Mutex::new(Calendar::new()),
            started: Instant::now(),
            hashers: Hashers::start(workers),
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

    /// How many sign-ins the pool hashes in a second: what one second's appointments may hold.
    /// It is reckoned from the CPU time of a hash, not its time by the clock: appointments
    /// are made in the first moments of a storm, while thousands of sign-ins are being
    /// answered at once and every hash waits for a core meanwhile (the hashing threads give
    /// way to requests); booked by the clock, the whole storm would be spread over several
    /// times the time it needs. The hashing threads get a little less than all the cores
    /// in a storm, so this books a little more than the pool does: one who comes back to a
    /// pool still full is simply given a later slot, which costs a refusal and nothing else,
    /// while a pool booked short would idle. (Booked by the fastest hash, timed alone on an
    /// idle core, a storm was booked at half as much again as the pool did, and each
    /// sign-in was refused four times on average.)
    fn per_second(&self) -> u64 {
        booked_per_second(self.workers, &self.cpu_micros)
    }

    /// Times hashes on a hashing thread, at start and then whenever the pool has been idle
    /// for a while ([`super::hashers::IDLE_RETIME`]), so a storm's first wave is booked by a
    /// measured and recent time rather than [`FIRST_GUESS`]. Each hashing thread times
    /// [`CALIBRATION_HASHES`] in a row, all at once, as they hash in a storm (two hashes at
    /// once on two cores each cost more CPU than one alone: they share the caches and the
    /// memory bus). A storm's first wave is booked within a second by whatever is known
    /// then; a rate guessed too low would leave the pool idle for much of the storm, a rate
    /// too high only costs a second refusal.
    pub fn calibrate(&self, hash: impl Fn() + Send + Sync + 'static) {
        let (average, cpu) = (self.hash_micros.clone(), self.cpu_micros.clone());
        let workers = self.workers;
        let timing = Arc::new(move || {
            for _ in 0..CALIBRATION_HASHES {
                let timer = HashTimer::start();
                hash();
                timer.record(&average, &cpu);
            }
            tracing::debug!(
                hash_cpu_ms = cpu.load(Ordering::Relaxed) as f64 / 1000.0,
                workers,
                "password hashing timed: the waiting room books about {} sign-ins a second",
                booked_per_second(workers, &cpu)
            );
        });
        for _ in 0..self.workers {
            let first = timing.clone();
            self.hashers.run(move || first());
        }
        self.hashers.when_idle(timing);
    }

    /// The refusal for a sign-in that cannot start hashing soon enough, with an
    /// appointment in the earliest slot it can reach that has room (see the module's note):
    /// when to come back, and how long to hold the refusal before sending it.
    fn come_back_later(&self, wait_for_queue: Duration) -> Appointment {
        let capacity = self.per_second();
        let mut calendar = self
            .appointments
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        calendar.book(self.started.elapsed(), wait_for_queue, capacity)
    }

    /// Enters the waiting room: a ticket to hash with, or the refusal saying when to come
    /// back (sent after its short hold, see [`HashPool::come_back_later`]; nothing of the pool
    /// is held meanwhile). Taken before any other work of a sign-in (reading the account), so
    /// a refused sign-in costs next to nothing.
    pub async fn enter(&self) -> ServiceResult<Ticket<'_>> {
        let ahead = self.waiting.fetch_add(1, Ordering::SeqCst);
        let ticket = Ticket { pool: self, ahead };
        let expected = self.expected_wait(ahead);
        if ahead >= self.max_waiting || expected > self.max_wait {
            drop(ticket);
            let appointment = self.come_back_later(expected);
            tokio::time::sleep(appointment.hold).await;
            return Err(appointment.refusal);
        }
        Ok(ticket)
    }

    /// Runs `f` (a hash or a verification) on a pool thread once a slot is free, or refuses
    /// at once if that would take longer than the pool's bound.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> ServiceResult<T> {
        self.enter().await?.run(f).await
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
                // Waited its bound already: told at once, no hold.
                Err(_) => return Err(pool.come_back_later(pool.expected_wait(self.ahead)).refusal),
            };
        drop(self);
        let (average, cpu) = (pool.hash_micros.clone(), pool.cpu_micros.clone());
        // The slot goes with the hash, not with the request: a request abandoned at its
        // deadline cannot cancel a blocking hash, and must not free its slot while it runs.
        let (done, out) = tokio::sync::oneshot::channel();
        let handed = pool.hashers.run(move || {
            let _slot = permit;
            let timer = HashTimer::start();
            let out = f();
            timer.record(&average, &cpu);
            let _ = done.send(out);
        });
        if !handed {
            return Err(ServiceError::Internal(anyhow::anyhow!(
                "no password-hashing thread is running"
            )));
        }
        out.await
            .map_err(|_| ServiceError::Internal(anyhow::anyhow!("a password-hashing job failed")))
    }
}

/// Times one hash on its thread: how long it took, and how much of a core it used.
struct HashTimer {
    wall: Instant,
    cpu: Option<Duration>,
}

impl HashTimer {
    fn start() -> Self {
        HashTimer {
            wall: Instant::now(),
            cpu: thread_cpu_time(),
        }
    }

    /// Records the hash: its time into the average (what a queue of sign-ins waits), its CPU
    /// time into the CPU average (what the pool does with the cores it gets). A hash kept
    /// waiting for a core by the requests being served, as in a storm's first moments, is
    /// slow by the clock but not in CPU time, so appointments booked then are booked at the
    /// pool's true rate.
    fn record(self, average: &AtomicU64, cpu_average: &AtomicU64) {
        let wall = self.wall.elapsed();
        let cpu = match (self.cpu, thread_cpu_time()) {
            (Some(before), Some(after)) => after.saturating_sub(before),
            _ => wall,
        };
        record(average, cpu_average, micros(wall), micros(cpu));
    }
}

/// How many sign-ins `workers` hashing threads do in a second at `cpu` microseconds of CPU a
/// hash (see [`HashPool::per_second`]).
fn booked_per_second(workers: usize, cpu: &AtomicU64) -> u64 {
    let hash = Duration::from_micros(cpu.load(Ordering::Relaxed));
    ((workers as f64 / hash.as_secs_f64().max(1e-6)) as u64).max(1)
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// Records a hash that took `took` microseconds, `cpu` of them on a core: the first replaces
/// the guess; then each average moves by 1/8 towards its figure. Both are kept without a
/// lock.
fn record(average: &AtomicU64, cpu_average: &AtomicU64, took: u64, cpu: u64) {
    let (took, cpu) = (took.max(1), cpu.max(1));
    let _ = average.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |old| {
        Some(if old == GUESSED {
            took
        } else {
            (old * 7 + took) / 8
        })
    });
    let _ = cpu_average.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |old| {
        Some(if old == GUESSED {
            cpu
        } else {
            (old * 7 + cpu) / 8
        })
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appointments_follow_the_cpu_time_of_a_hash_and_the_average_follows_the_clock() {
        let (average, cpu) = (AtomicU64::new(GUESSED), AtomicU64::new(GUESSED));
        record(&average, &cpu, 16_000, 16_000);
        assert_eq!(
            (average.load(Ordering::Relaxed), cpu.load(Ordering::Relaxed)),
            (16_000, 16_000)
        );
        // A burst keeps the hashes waiting for a core: the average rises, the CPU time does
        // not move.
        for _ in 0..8 {
            record(&average, &cpu, 48_000, 16_000);
        }
        assert!(average.load(Ordering::Relaxed) > 30_000);
        assert_eq!(cpu.load(Ordering::Relaxed), 16_000);
        // Hashes that really cost more (two at once, sharing the caches): it moves 1/8 of
        // the way a hash.
        record(&average, &cpu, 24_000, 24_000);
        assert_eq!(cpu.load(Ordering::Relaxed), 17_000);
        for _ in 0..40 {
            record(&average, &cpu, 24_000, 24_000);
        }
        assert!(cpu.load(Ordering::Relaxed).abs_diff(24_000) < 100);
        assert_eq!(booked_per_second(2, &cpu), 83);
    }

    #[tokio::test]
    async fn the_first_timed_hash_replaces_the_guess() {
        let pool = HashPool::new(1, 10, Duration::from_secs(5));
        assert_eq!(pool.hash_time(), FIRST_GUESS);
        // A job that waits rather than works: slow by the clock, next to nothing in CPU time.
        pool.run(|| std::thread::sleep(Duration::from_millis(5)))
            .await
            .unwrap();
        let t = pool.hash_time();
        assert!(
            t >= Duration::from_millis(5) && t < Duration::from_millis(40),
            "{t:?}"
        );
        if cfg!(target_os = "linux") {
            let cpu = Duration::from_micros(pool.cpu_micros.load(Ordering::Relaxed));
            assert!(
                cpu < Duration::from_millis(2),
                "CPU time of a sleep: {cpu:?}"
            );
        }
    }

    #[test]
    fn zero_workers_means_one_per_core() {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        assert_eq!(HashPool::new(0, 1, Duration::from_secs(1)).workers(), cores);
        assert_eq!(HashPool::new(3, 1, Duration::from_secs(1)).workers(), 3);
    }
}
