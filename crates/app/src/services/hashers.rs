//! The threads that hash passwords for the waiting room ([`super::hash_pool`]), at a lower CPU
//! priority than the threads that serve requests.
//!
//! A hash is deliberately expensive (argon2id takes tens of milliseconds of one core). On
//! results day the same cores serve thousands of reads a second and answer a sign-in storm's
//! refusals; if the hashes competed with them as equals, a storm of sign-ins would slow every
//! student's read, and the storm's own refusals ("come back in 3 seconds") would be answered
//! late. So these threads lower their own scheduling priority once, when they start
//! (`nice` +[`NICE`]): whenever a request is ready to be served it goes first, and the hashes
//! take every moment the cores have left, which during a storm is nearly all of them.
//!
//! There is one thread per hash the pool runs at once; the pool's slots (a semaphore) make
//! sure no more jobs are handed over than there are threads, so a job never waits here. A
//! job that panics is caught and the thread goes on; its caller sees the job's result dropped.
//! The threads end when the pool is dropped.
//!
//! While no job comes for [`IDLE_RETIME`], a thread runs the pool's timing job (if it has
//! one): a storm's first wave is booked by what the pool knows of a hash's cost at that
//! moment, and the timing taken at start is often taken while the portal warms its cache.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How much the hashing threads lower their priority: at nice 10 a thread gets about a tenth
/// of the CPU share of one at nice 0 when both want to run, and everything when alone.
pub const NICE: i32 = 10;

/// How long the threads wait for a job before running the timing job.
pub const IDLE_RETIME: Duration = Duration::from_secs(15);

type Job = Box<dyn FnOnce() + Send>;
pub type TimingJob = Arc<dyn Fn() + Send + Sync>;

/// The hashing threads: jobs are handed to whichever is free.
pub struct Hashers {
    jobs: Sender<Job>,
    timing: Arc<Mutex<Option<TimingJob>>>,
}

impl Hashers {
    /// Starts `threads` hashing threads.
    pub fn start(threads: usize) -> Self {
        Self::start_with_idle(threads, IDLE_RETIME)
    }

    fn start_with_idle(threads: usize, idle: Duration) -> Self {
        let (tx, rx) = channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        let timing: Arc<Mutex<Option<TimingJob>>> = Arc::default();
        for i in 0..threads.max(1) {
            let (rx, timing) = (rx.clone(), timing.clone());
            let spawned = std::thread::Builder::new()
                .name(format!("eportal-hash-{i}"))
                .spawn(move || work(&rx, &timing, idle));
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start a password-hashing thread");
            }
        }
        Hashers { jobs: tx, timing }
    }

    /// The job an idle thread runs every [`IDLE_RETIME`] (timing a hash).
    pub fn when_idle(&self, job: TimingJob) {
        *self.timing.lock().unwrap_or_else(|p| p.into_inner()) = Some(job);
    }

    /// Hands `job` to a hashing thread; `false` if none is left to take it.
    pub fn run(&self, job: impl FnOnce() + Send + 'static) -> bool {
        self.jobs.send(Box::new(job)).is_ok()
    }
}

/// One hashing thread: lowers its priority, then runs jobs (and the timing job when idle)
/// until the pool is dropped.
fn work(jobs: &Mutex<Receiver<Job>>, timing: &Mutex<Option<TimingJob>>, idle: Duration) {
    lower_priority();
    loop {
        let job = {
            let jobs = jobs.lock().unwrap_or_else(|p| p.into_inner());
            jobs.recv_timeout(idle)
        };
        let job: Job = match job {
            Ok(job) => job,
            Err(RecvTimeoutError::Disconnected) => return,
            Err(RecvTimeoutError::Timeout) => {
                let timing = timing.lock().unwrap_or_else(|p| p.into_inner()).clone();
                match timing {
                    Some(t) => Box::new(move || t()),
                    None => continue,
                }
            }
        };
        if catch_unwind(AssertUnwindSafe(job)).is_err() {
            tracing::error!("a password-hashing job panicked; the thread goes on");
        }
    }
}

/// Raises this thread's nice value by [`NICE`] (at most to 19). Only ever lowered, so no
/// privilege is needed; where it cannot be done the hashes simply run at normal priority.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        // On Linux a thread id names the thread alone.
        let me = Some(rustix::thread::gettid());
        if let Err(e) =
            rustix::process::setpriority_process(me, (nice_of_this_thread() + NICE).min(19))
        {
            tracing::debug!(error = %e, "cannot lower the hashing thread's priority");
        }
    }
}

/// The CPU time this thread has used: what a hash costs whether or not it was kept waiting
/// for a core meanwhile. `None` where the platform cannot tell.
pub fn thread_cpu_time() -> Option<Duration> {
    #[cfg(target_os = "linux")]
    {
        let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
        let secs = u64::try_from(t.tv_sec).ok()?;
        let nanos = u32::try_from(t.tv_nsec).ok()?;
        Some(Duration::new(secs, nanos))
    }
    #[cfg(not(target_os = "linux"))]
    None
}

/// This thread's nice value (0 if it cannot be read).
#[cfg(target_os = "linux")]
fn nice_of_this_thread() -> i32 {
    rustix::process::getpriority_process(Some(rustix::thread::gettid())).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::mpsc::sync_channel;

    #[test]
    fn an_idle_pool_runs_its_timing_job_and_a_busy_one_does_not() {
        let hashers = Hashers::start_with_idle(1, Duration::from_millis(50));
        let timed = Arc::new(AtomicUsize::new(0));
        let counter = timed.clone();
        hashers.when_idle(Arc::new(move || {
            counter.fetch_add(1, Ordering::SeqCst);
        }));
        std::thread::sleep(Duration::from_millis(400));
        let idle = timed.load(Ordering::SeqCst);
        assert!(idle >= 2, "timed {idle} times in 400 ms of idling");
        // Jobs arriving more often than the idle wait leave no room for timing.
        let before = timed.load(Ordering::SeqCst);
        for _ in 0..20 {
            assert!(hashers.run(|| {}));
            std::thread::sleep(Duration::from_millis(10));
        }
        let during = timed.load(Ordering::SeqCst) - before;
        assert!(during <= 1, "timed {during} times while busy");
    }

    #[test]
    fn jobs_run_on_threads_below_the_callers_priority_and_survive_a_panic() {
        let hashers = Hashers::start(2);
        assert!(hashers.run(|| panic!("a job that fails")));
        let (tx, rx) = sync_channel(4);
        for _ in 0..4 {
            let tx = tx.clone();
            assert!(hashers.run(move || {
                let name = std::thread::current().name().map(str::to_string);
                #[cfg(target_os = "linux")]
                let nice = nice_of_this_thread();
                #[cfg(not(target_os = "linux"))]
                let nice = NICE;
                tx.send((name, nice)).unwrap();
            }));
        }
        #[cfg(target_os = "linux")]
        let mine = nice_of_this_thread();
        #[cfg(not(target_os = "linux"))]
        let mine = 0;
        for _ in 0..4 {
            let (name, nice) = rx
                .recv_timeout(Duration::from_secs(10))
                .expect("every job runs, the panicked one's thread included");
            assert!(
                name.as_deref()
                    .is_some_and(|n| n.starts_with("eportal-hash-")),
                "{name:?}"
            );
            assert_eq!(nice, (mine + NICE).min(19), "a hashing thread's nice value");
        }
    }
}
