//! Circuit breakers: one per engine (store, cache, queue), so that while an engine is down the
//! requests that need it are refused in microseconds instead of each waiting for the engine's
//! own timeout (five seconds for a PostgreSQL connection), which on results day would fill every
//! in-flight slot with requests that cannot succeed.
//!
//! ```text
//!   closed ──(failures_to_open consecutive failures)──▶ open
//!     ▲                                                   │ cool_down passes
//!     └────────────(the probe succeeds)───── half-open ◀──┘
//!                                   (the probe fails) ──▶ open again
//! ```
//!
//! Only [`PortError::Unavailable`] counts as a failure: a "not found" or a conflict is the
//! engine answering. In half-open exactly one call (the probe) goes through; the others are
//! refused until it settles. A probe that is dropped before it settles (its request timed out
//! or was cancelled) counts as a failure, so a breaker can never stay half-open for good.
//!
//! A call its caller gave up on after `slow_call_ms` counts as a failure too. An engine can
//! be down without ever answering with an error: with PostgreSQL stopped, the pool retries a
//! refused connection until its acquire timeout (five seconds), and the callers on the results
//! path stop waiting long before that (`results_store_timeout_ms`). Counting only the calls
//! that ended in an error, the breaker of such an outage would never open, and every request
//! that needed the store would wait out its caller's timeout. A call dropped sooner (a client
//! that went away at once) says nothing about the engine and is not counted.
//!
//! The closed state, which is every call on a good day, costs one atomic load and a reading of
//! the monotonic clock before the call and at most one atomic load after it. This module must
//! never wait on an engine or hold its lock across a call: it only decides whether a call may
//! start and records how it ended.
//! [`ports`] wraps the port traits with a breaker each.

pub mod ports;

use eportal_ports::PortError;
use prometheus::{IntCounter, IntGauge, Opts};
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU32, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A breaker's settings (`[breaker]` in the configuration).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct BreakerConfig {
    /// Consecutive failed calls to one engine that open its breaker.
    pub failures_to_open: u32,
    /// How long an open breaker refuses every call before it lets one probe through.
    pub cool_down_ms: u64,
    /// A call given up on by its caller after running this long counts as failed.
    pub slow_call_ms: u64,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        BreakerConfig {
            failures_to_open: 5,
            cool_down_ms: 2_000,
            slow_call_ms: 1_000,
        }
    }
}

impl BreakerConfig {
    pub fn validate(&self) -> anyhow::Result<()> {
        if !(1..=1000).contains(&self.failures_to_open) {
            anyhow::bail!(
                "EPORTAL_BREAKER__FAILURES_TO_OPEN must be between 1 and 1000 (got {})",
                self.failures_to_open
            );
        }
        if !(100..=600_000).contains(&self.cool_down_ms) {
            anyhow::bail!(
                "EPORTAL_BREAKER__COOL_DOWN_MS must be between 100 and 600000 (got {})",
                self.cool_down_ms
            );
        }
        if !(10..=600_000).contains(&self.slow_call_ms) {
            anyhow::bail!(
                "EPORTAL_BREAKER__SLOW_CALL_MS must be between 10 and 600000 (got {})",
                self.slow_call_ms
            );
        }
        Ok(())
    }
}

/// Where a breaker stands; the number is the value of `eportal_breaker_state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Closed = 0,
    HalfOpen = 1,
    Open = 2,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Closed => "closed",
            State::HalfOpen => "half_open",
            State::Open => "open",
        }
    }

    fn from_u8(v: u8) -> State {
        match v {
            0 => State::Closed,
            1 => State::HalfOpen,
            _ => State::Open,
        }
    }
}

/// Time since the breaker was made; a test passes a clock it moves by hand.
pub type Clock = Arc<dyn Fn() -> Duration + Send + Sync>;

fn monotonic() -> Clock {
    let start = Instant::now();
    Arc::new(move || start.elapsed())
}

pub struct Breaker {
    engine: &'static str,
    failures_to_open: u32,
    cool_down: Duration,
    slow_call: Duration,
    clock: Clock,
    /// Mirror of `transitions.state` that the closed fast path reads without the lock.
    state: AtomicU8,
    failures: AtomicU32,
    /// `eportal_breaker_state{engine}` and `eportal_breaker_opened_total{engine}`, kept here
    /// and registered with the process's metrics by [`ports::Breakers::register`].
    state_gauge: IntGauge,
    opened: IntCounter,
    transitions: Mutex<Transitions>,
}

struct Transitions {
    state: State,
    opened_at: Duration,
}

/// Leave to make one call; settle it with the call's outcome.
#[must_use]
pub struct Permit<'a> {
    breaker: &'a Breaker,
    probe: bool,
    settled: bool,
    /// When the call started, on the breaker's clock.
    started: Duration,
}

impl Breaker {
    pub fn new(engine: &'static str, config: &BreakerConfig) -> Breaker {
        Breaker::with_clock(engine, config, monotonic())
    }

    pub fn with_clock(engine: &'static str, config: &BreakerConfig, clock: Clock) -> Breaker {
        Breaker {
            engine,
            failures_to_open: config.failures_to_open.max(1),
            cool_down: Duration::from_millis(config.cool_down_ms),
            slow_call: Duration::from_millis(config.slow_call_ms),
            clock,
            state: AtomicU8::new(State::Closed as u8),
            failures: AtomicU32::new(0),
            state_gauge: IntGauge::with_opts(
                Opts::new(
                    "eportal_breaker_state",
                    "Circuit breaker of each engine: 0 closed, 1 half-open (one probe let through), 2 open (calls refused at once)",
                )
                .const_label("engine", engine),
            )
            .expect("valid metric"),
            opened: IntCounter::with_opts(
                Opts::new(
                    "eportal_breaker_opened_total",
                    "Times the circuit breaker of each engine opened (after failures in a row, or again after a failed probe)",
                )
                .const_label("engine", engine),
            )
            .expect("valid metric"),
            transitions: Mutex::new(Transitions {
                state: State::Closed,
                opened_at: Duration::ZERO,
            }),
        }
    }

    pub fn engine(&self) -> &'static str {
        self.engine
    }

    pub fn state(&self) -> State {
        State::from_u8(self.state.load(Ordering::Acquire))
    }

    /// How many times this breaker has opened (from closed, or again after a failed probe).
    pub fn opened_total(&self) -> u64 {
        self.opened.get()
    }

    /// The breaker's series, for a metrics registry.
    pub fn collectors(&self) -> [Box<dyn prometheus::core::Collector>; 2] {
        [
            Box::new(self.state_gauge.clone()),
            Box::new(self.opened.clone()),
        ]
    }

    /// Leave to call the engine now, or the refusal to return instead.
    pub fn admit(&self) -> Result<Permit<'_>, PortError> {
        if self.state.load(Ordering::Acquire) == State::Closed as u8 {
            return Ok(self.permit(false));
        }
        let mut t = self.lock();
        match t.state {
            State::Closed => Ok(self.permit(false)),
            State::Open if (self.clock)().saturating_sub(t.opened_at) >= self.cool_down => {
                self.set(&mut t, State::HalfOpen);
                Ok(self.permit(true))
            }
            State::Open | State::HalfOpen => Err(PortError::Unavailable {
                engine: self.engine,
                message: format!(
                    "refused at once: its circuit breaker is open after {} failed calls in a row",
                    self.failures_to_open
                ),
            }),
        }
    }

    fn permit(&self, probe: bool) -> Permit<'_> {
        Permit {
            breaker: self,
            probe,
            settled: false,
            started: (self.clock)(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Transitions> {
        // The lock guards plain assignments only; a poisoned one still holds a valid state.
        self.transitions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn set(&self, t: &mut Transitions, state: State) {
        t.state = state;
        self.state.store(state as u8, Ordering::Release);
        self.state_gauge.set(state as i64);
    }

    fn open(&self, t: &mut Transitions) {
        t.opened_at = (self.clock)();
        self.set(t, State::Open);
        self.failures.store(0, Ordering::Relaxed);
        self.opened.inc();
        tracing::warn!(
            engine = self.engine,
            cool_down_ms = self.cool_down.as_millis() as u64,
            "circuit breaker opened: calls to this engine are refused until a probe succeeds"
        );
    }

    fn succeeded(&self, probe: bool) {
        if probe {
            let mut t = self.lock();
            self.failures.store(0, Ordering::Relaxed);
            self.set(&mut t, State::Closed);
            tracing::info!(
                engine = self.engine,
                "circuit breaker closed: the engine answers again"
            );
        } else if self.failures.load(Ordering::Relaxed) != 0 {
            self.failures.store(0, Ordering::Relaxed);
        }
    }

    fn failed(&self, probe: bool) {
        if probe {
            let mut t = self.lock();
            self.open(&mut t);
            return;
        }
        let n = self.failures.fetch_add(1, Ordering::Relaxed) + 1;
        if n >= self.failures_to_open {
            let mut t = self.lock();
            // Calls admitted before the breaker opened may fail after it did: only the
            // closed breaker opens.
            if t.state == State::Closed {
                self.open(&mut t);
            }
        }
    }
}

impl Permit<'_> {
    /// Records how the call ended and hands its result back.
    pub fn settle<T>(mut self, result: Result<T, PortError>) -> Result<T, PortError> {
        self.settled = true;
        match &result {
            Err(e) if e.is_transient() => self.breaker.failed(self.probe),
            _ => self.breaker.succeeded(self.probe),
        }
        result
    }
}

impl Drop for Permit<'_> {
    /// A call dropped before it settled: its caller stopped waiting (a timeout, a deadline, a
    /// client that went away). A probe counts as failed whenever; another call only once it
    /// had run for `slow_call_ms` (see the module's note).
    fn drop(&mut self) {
        if self.settled {
            return;
        }
        let b = self.breaker;
        if self.probe || (b.clock)().saturating_sub(self.started) >= b.slow_call {
            b.failed(self.probe);
        }
    }
}

#[cfg(test)]
mod tests;
