//! Jobs and their retry schedule: the envelope's JSON form (what every queue adapter
//! carries), refusal of versions a worker does not know, and the bounds of the jittered
//! exponential backoff.

use eportal_core::jobs::{Envelope, Job, RetryPolicy, ENVELOPE_VERSION};
use proptest::prelude::*;
use std::time::Duration;

#[test]
fn an_envelope_round_trips_through_json() {
    for request_id in [None, Some("req-7f3a".to_string())] {
        let e = Envelope::new(Job::ProcessSheet { sheet_id: 42 }, request_id);
        assert_eq!(e.v, ENVELOPE_VERSION);
        assert_eq!(Envelope::from_json(&e.to_json()), Ok(e));
    }
}

#[test]
fn the_envelope_format_is_stable() {
    // Jobs already sitting in a queue were written in this form; changing it strands them.
    let e = Envelope::new(Job::ProcessSheet { sheet_id: 9 }, Some("r1".into()));
    assert_eq!(
        e.to_json(),
        r#"{"v":1,"job":{"type":"process_sheet","sheet_id":9},"request_id":"r1"}"#
    );
    let without = Envelope::new(Job::ProcessSheet { sheet_id: 9 }, None);
    assert_eq!(
        without.to_json(),
        r#"{"v":1,"job":{"type":"process_sheet","sheet_id":9}}"#
    );
}

#[test]
fn an_unknown_version_is_refused_as_a_version_problem() {
    // A newer producer may add job types this worker cannot parse; the refusal must still
    // say "version", so the operator knows to upgrade workers, not to debug the payload.
    let newer = r#"{"v":2,"job":{"type":"recompute_gpa","matric_no":"SCI/2021/0042"}}"#;
    assert_eq!(
        Envelope::from_json(newer),
        Err("job envelope version 2 is not supported (this worker reads version 1)".into())
    );
    let old = r#"{"v":0,"job":{"type":"process_sheet","sheet_id":1}}"#;
    assert!(Envelope::from_json(old)
        .unwrap_err()
        .contains("version 0 is not supported"));
    let text = r#"{"v":"1","job":{"type":"process_sheet","sheet_id":1}}"#;
    assert!(Envelope::from_json(text)
        .unwrap_err()
        .contains("version \"1\" is not supported"));
}

#[test]
fn unreadable_jobs_are_refused_with_the_parser_reason() {
    for bad in [
        "",
        "not json",
        r#"{"job":{"type":"process_sheet","sheet_id":1}}"#,
        r#"{"v":1,"job":{"type":"delete_everything"}}"#,
        r#"{"v":1,"job":{"type":"process_sheet"}}"#,
    ] {
        let err = Envelope::from_json(bad).unwrap_err();
        assert!(err.starts_with("unreadable job: "), "{bad:?} gave {err:?}");
    }
}

#[test]
fn the_default_schedule_worked_out() {
    // base 500 ms doubling: 500, 1000, 2000, 4000; the fifth failure dead-letters.
    let p = RetryPolicy::default();
    let full: Vec<Option<Duration>> = (1..=6).map(|n| p.delay(n, 1000)).collect();
    let ms = |m| Some(Duration::from_millis(m));
    assert_eq!(full, [ms(500), ms(1000), ms(2000), ms(4000), None, None]);
    // Least jitter halves each wait.
    assert_eq!(p.delay(3, 0), ms(1000));
    // Jitter beyond 1000 counts as 1000.
    assert_eq!(p.delay(3, u16::MAX), p.delay(3, 1000));
}

#[test]
fn long_schedules_stop_growing_at_the_cap() {
    let p = RetryPolicy {
        max_attempts: 100,
        base_ms: 500,
        max_ms: 60_000,
    };
    assert_eq!(p.delay(8, 1000), Some(Duration::from_millis(60_000)));
    assert_eq!(p.delay(99, 1000), Some(Duration::from_millis(60_000)));
    assert_eq!(p.delay(100, 1000), None);
    // Huge settings saturate instead of overflowing.
    let huge = RetryPolicy {
        max_attempts: u32::MAX,
        base_ms: u64::MAX / 2,
        max_ms: u64::MAX,
    };
    assert_eq!(huge.delay(64, 1000), Some(Duration::from_millis(u64::MAX)));
}

fn policies() -> impl Strategy<Value = RetryPolicy> {
    (1u32..20, 1u64..5_000, 0u64..10_000_000).prop_map(|(max_attempts, base_ms, extra)| {
        RetryPolicy {
            max_attempts,
            base_ms,
            max_ms: base_ms + extra,
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn delays_never_shrink_as_attempts_grow(p in policies(), jitter in 0u16..=1000) {
        let mut last = Duration::ZERO;
        for attempt in 1..p.max_attempts {
            let d = p.delay(attempt, jitter).expect("within budget");
            prop_assert!(d >= last, "attempt {}: {:?} < {:?}", attempt, d, last);
            last = d;
        }
    }

    #[test]
    fn delays_lie_between_half_the_base_and_the_cap(
        p in policies(),
        attempt in 0u32..40,
        jitter in any::<u16>(),
    ) {
        match p.delay(attempt, jitter) {
            None => prop_assert!(attempt >= p.max_attempts),
            Some(d) => {
                prop_assert!(attempt < p.max_attempts);
                let ms = d.as_millis() as u64;
                prop_assert!(ms >= p.base_ms / 2, "{} ms below half of base {}", ms, p.base_ms);
                prop_assert!(ms <= p.max_ms, "{} ms above cap {}", ms, p.max_ms);
            }
        }
    }

    #[test]
    fn more_jitter_never_means_a_shorter_wait(
        p in policies(),
        attempt in 1u32..20,
        a in 0u16..=1000,
        b in 0u16..=1000,
    ) {
        let (lo, hi) = (a.min(b), a.max(b));
        prop_assert!(p.delay(attempt, lo) <= p.delay(attempt, hi));
    }

    #[test]
    fn any_envelope_round_trips(sheet_id in any::<i64>(), rid in proptest::option::of("[ -~]{0,40}")) {
        let e = Envelope::new(Job::ProcessSheet { sheet_id }, rid);
        prop_assert_eq!(Envelope::from_json(&e.to_json()), Ok(e));
    }
}
