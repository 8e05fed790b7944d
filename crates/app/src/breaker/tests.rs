//! The state machine on a clock moved by hand: no engine is involved, so none is used.

use super::*;
use std::sync::atomic::AtomicU64;

struct Fake {
    now_ms: Arc<AtomicU64>,
    breaker: Breaker,
}

fn breaker(failures_to_open: u32, cool_down_ms: u64) -> Fake {
    let now_ms = Arc::new(AtomicU64::new(0));
    let t = now_ms.clone();
    let clock: Clock = Arc::new(move || Duration::from_millis(t.load(Ordering::Relaxed)));
    let config = BreakerConfig {
        failures_to_open,
        cool_down_ms,
        slow_call_ms: 500,
    };
    Fake {
        now_ms,
        breaker: Breaker::with_clock("store", &config, clock),
    }
}

impl Fake {
    fn advance(&self, ms: u64) {
        self.now_ms.fetch_add(ms, Ordering::Relaxed);
    }

    fn call(&self, ok: bool) -> Result<(), PortError> {
        let permit = self.breaker.admit()?;
        permit.settle(if ok { Ok(()) } else { Err(down()) })
    }
}

fn down() -> PortError {
    PortError::unavailable("store", "connection refused")
}

fn refused(r: Result<(), PortError>) -> bool {
    matches!(r, Err(PortError::Unavailable { message, .. }) if message.contains("circuit breaker"))
}

#[test]
fn opens_after_the_configured_failures_in_a_row() {
    let f = breaker(3, 1000);
    for _ in 0..2 {
        assert!(!refused(f.call(false)));
        assert_eq!(f.breaker.state(), State::Closed);
    }
    assert!(
        !refused(f.call(false)),
        "the third failure reaches the engine"
    );
    assert_eq!(f.breaker.state(), State::Open);
    assert_eq!(f.breaker.opened_total(), 1);
    assert!(
        refused(f.call(true)),
        "an open breaker refuses without calling"
    );
}

#[test]
fn a_success_starts_the_count_again() {
    let f = breaker(3, 1000);
    f.call(false).unwrap_err();
    f.call(false).unwrap_err();
    f.call(true).unwrap();
    f.call(false).unwrap_err();
    f.call(false).unwrap_err();
    assert_eq!(
        f.breaker.state(),
        State::Closed,
        "failures were not in a row"
    );
    f.call(false).unwrap_err();
    assert_eq!(f.breaker.state(), State::Open);
}

#[test]
fn answers_that_are_not_outages_do_not_count() {
    let f = breaker(1, 1000);
    let permit = f.breaker.admit().unwrap();
    let _ = permit.settle::<()>(Err(PortError::NotFound("student".into())));
    let permit = f.breaker.admit().unwrap();
    let _ = permit.settle::<()>(Err(PortError::Conflict("stale".into())));
    assert_eq!(f.breaker.state(), State::Closed);
}

#[test]
fn after_the_cool_down_one_probe_goes_through_and_its_success_closes() {
    let f = breaker(1, 1000);
    f.call(false).unwrap_err();
    f.advance(999);
    assert!(refused(f.call(true)), "still cooling down");
    f.advance(1);
    let probe = f.breaker.admit().expect("the probe is let through");
    assert_eq!(f.breaker.state(), State::HalfOpen);
    assert!(
        refused(f.call(true)),
        "only one probe at a time while half-open"
    );
    probe.settle(Ok(())).unwrap();
    assert_eq!(f.breaker.state(), State::Closed);
    f.call(true).unwrap();
    assert_eq!(f.breaker.opened_total(), 1);
}

#[test]
fn a_failed_probe_opens_again_for_a_whole_cool_down() {
    let f = breaker(2, 1000);
    f.call(false).unwrap_err();
    f.call(false).unwrap_err();
    f.advance(1000);
    assert!(!refused(f.call(false)), "the probe reached the engine");
    assert_eq!(f.breaker.state(), State::Open);
    assert_eq!(f.breaker.opened_total(), 2);
    f.advance(500);
    assert!(refused(f.call(true)));
    f.advance(500);
    f.call(true).unwrap();
    assert_eq!(f.breaker.state(), State::Closed);
}

#[test]
fn a_probe_dropped_before_it_settles_counts_as_failed() {
    let f = breaker(1, 1000);
    f.call(false).unwrap_err();
    f.advance(1000);
    let probe = f.breaker.admit().unwrap();
    drop(probe);
    assert_eq!(f.breaker.state(), State::Open, "not stuck half-open");
    f.advance(1000);
    f.call(true).unwrap();
    assert_eq!(f.breaker.state(), State::Closed);
}

#[test]
fn calls_given_up_on_after_the_slow_call_time_count_as_failed() {
    let f = breaker(2, 1000);
    // The engine hangs: each call is dropped by its caller's timeout, none ever ends.
    let hung = f.breaker.admit().unwrap();
    f.advance(500);
    drop(hung);
    assert_eq!(f.breaker.state(), State::Closed, "one failure of two");
    let hung = f.breaker.admit().unwrap();
    f.advance(600);
    drop(hung);
    assert_eq!(f.breaker.state(), State::Open, "two hung calls in a row");
    assert!(refused(f.call(true)), "refused at once while open");
}

#[test]
fn calls_dropped_sooner_say_nothing_about_the_engine() {
    let f = breaker(1, 1000);
    for _ in 0..5 {
        let gone = f.breaker.admit().unwrap();
        f.advance(499);
        drop(gone);
    }
    assert_eq!(f.breaker.state(), State::Closed);
    assert_eq!(f.breaker.opened_total(), 0);
    // A call that settles counts as it ended, however long it took.
    let slow = f.breaker.admit().unwrap();
    f.advance(5000);
    slow.settle(Ok(())).unwrap();
    assert_eq!(f.breaker.state(), State::Closed);
}

#[test]
fn late_failures_of_calls_admitted_before_it_opened_do_not_reopen_it() {
    let f = breaker(1, 1000);
    let early = f.breaker.admit().unwrap();
    f.call(false).unwrap_err();
    assert_eq!(f.breaker.opened_total(), 1);
    let _ = early.settle::<()>(Err(down()));
    assert_eq!(f.breaker.opened_total(), 1);
    f.advance(1000);
    f.call(true).unwrap();
    assert_eq!(f.breaker.state(), State::Closed);
}

#[test]
fn settings_out_of_range_are_refused_by_name() {
    let bad = BreakerConfig {
        failures_to_open: 0,
        ..BreakerConfig::default()
    };
    let e = bad.validate().unwrap_err().to_string();
    assert!(e.contains("EPORTAL_BREAKER__FAILURES_TO_OPEN"), "{e}");
    let bad = BreakerConfig {
        cool_down_ms: 10,
        ..BreakerConfig::default()
    };
    let e = bad.validate().unwrap_err().to_string();
    assert!(e.contains("EPORTAL_BREAKER__COOL_DOWN_MS"), "{e}");
    let bad = BreakerConfig {
        slow_call_ms: 0,
        ..BreakerConfig::default()
    };
    let e = bad.validate().unwrap_err().to_string();
    assert!(e.contains("EPORTAL_BREAKER__SLOW_CALL_MS"), "{e}");
    BreakerConfig::default().validate().unwrap();
}
