//! The sign-in waiting room's appointments ([`super::hash_pool`]): refused sign-ins are
//! given appointments in a calendar of short slots ([`BUCKET`]s), each second holding what
//! the pool hashes in it, so that a storm comes back as evenly as the pool works through it.
//! `Retry-After` counts whole seconds, so a refusal told "n seconds" comes back n seconds
//! after it is answered: the refusal is held for a moment (at most [`SPREAD`], so that even a
//! refusal answered late in a burst is answered within a second) to land it in its slot. One
//! refused at some moment of a second can thus come back within the [`SPREAD`] after that
//! moment of any later second; the earliest such second with room is taken, and in it the
//! least booked slot within reach. Booked by whole seconds instead, the storm bunched: those
//! who could not reach the start of a second came back together at their own moment, a crowd
//! that the pool could only take part of in time, and the pool idled for the rest of each
//! second.
//!
//! This module must never hold anything per sign-in: a storm's memory is the calendar's two
//! fixed rings, and goes back to its baseline as soon as the storm passes.

use super::ServiceError;
use std::time::Duration;

/// Nobody is told to come back later than this; past it the appointments stop moving on (a
/// storm that long is better told "a minute" than "an hour").
const LONGEST_WAIT: Duration = Duration::from_secs(60);

/// The longest a refusal is held back to land its sign-in in its slot (see the module's note).
const SPREAD: Duration = Duration::from_millis(300);

/// The calendar's slots: each holds what the pool hashes in this long.
const BUCKET: Duration = Duration::from_millis(50);
/// Slots in a second.
const BUCKETS_A_SECOND: usize = (1000 / BUCKET.as_millis()) as usize;
/// Slots in the calendar: enough to book [`LONGEST_WAIT`] ahead, and two seconds more.
const BUCKETS: usize = (LONGEST_WAIT.as_secs() as usize + 2) * BUCKETS_A_SECOND;

/// A refused sign-in's appointment.
pub(super) struct Appointment {
    pub(super) refusal: ServiceError,
    /// How long to wait before sending the refusal.
    pub(super) hold: Duration,
    /// When the sign-in is expected back, since the pool started (what the tests check).
    #[cfg_attr(not(test), allow(dead_code))]
    pub(super) arrive_at: Duration,
}

/// The appointments of the coming [`LONGEST_WAIT`]: how many are booked into each second
/// and into each [`BUCKET`] of it (counted since the pool started), in rings reused as time
/// passes.
pub(super) struct Calendar {
    /// For each place: the bucket it holds now, and how many are booked into it.
    buckets: Vec<(u64, u64)>,
    /// For each place: the second it holds now, and how many are booked into it.
    seconds: Vec<(u64, u64)>,
}

/// The count a ring keeps for `key`, starting afresh if the place held an older key.
fn slot(ring: &mut [(u64, u64)], key: u64) -> &mut u64 {
    let len = ring.len() as u64;
    let place = &mut ring[(key % len) as usize];
    if place.0 != key {
        *place = (key, 0);
    }
    &mut place.1
}

impl Calendar {
    pub(super) fn new() -> Self {
        Calendar {
            buckets: vec![(u64::MAX, 0); BUCKETS],
            seconds: vec![(u64::MAX, 0); BUCKETS / BUCKETS_A_SECOND + 1],
        }
    }

    /// Books a refusal answered at `since` (since the pool started), no sooner than
    /// `wait_for_queue` from now and a second at least: told to come back in `n` whole
    /// seconds and held up to [`SPREAD`], it arrives between `since + n` and
    /// `since + n + SPREAD`. The earliest `n` whose seconds have room (`per_second` each) is
    /// taken, and within its reach the slot with the fewest booked so far, so that the
    /// arrivals spread over all of each second as far as the moments of the refusals allow,
    /// and over a [`SPREAD`] at least (no slot takes more than its part of that).
    /// With no room within [`LONGEST_WAIT`], it is told that, and nothing is booked.
    pub(super) fn book(
        &mut self,
        since: Duration,
        wait_for_queue: Duration,
        per_second: u64,
    ) -> Appointment {
        let bucket_of = |t: Duration| (t.as_micros() / BUCKET.as_micros()) as u64;
        let first = wait_for_queue.as_secs_f64().ceil().max(1.0) as u64;
        // A second's arrivals are spread over a [`SPREAD`] at least.
        let most_a_bucket =
            (per_second as f64 * BUCKET.as_secs_f64() / SPREAD.as_secs_f64()).ceil() as u64;
        let mut found = None;
        for secs in first..=LONGEST_WAIT.as_secs() {
            let from = since + Duration::from_secs(secs);
            let mut best: Option<(u64, u64)> = None;
            for b in bucket_of(from)..=bucket_of(from + SPREAD) {
                let second = b / BUCKETS_A_SECOND as u64;
                if *slot(&mut self.seconds, second) >= per_second {
                    continue;
                }
                let booked = *slot(&mut self.buckets, b);
                if booked >= most_a_bucket {
                    continue;
                }
                if best.is_none_or(|(_, fewest)| booked < fewest) {
                    best = Some((b, booked));
                }
            }
            if let Some((b, _)) = best {
                *slot(&mut self.seconds, b / BUCKETS_A_SECOND as u64) += 1;
                let booked = slot(&mut self.buckets, b);
                *booked += 1;
                // Within the bucket, a little later for each booked before (a bucket's
                // share at the pool's rate fills it), but never outside the reach.
                let start = Duration::from_micros(b * BUCKET.as_micros() as u64);
                let share = (per_second as f64 * BUCKET.as_secs_f64()).max(1.0);
                let at = start + BUCKET.mul_f64(((*booked - 1) as f64 / share).min(0.99));
                let arrive_at = at.clamp(from, from + SPREAD);
                found = Some((secs, arrive_at - from, arrive_at));
                break;
            }
        }
        let (secs, hold, arrive_at) =
            found.unwrap_or((LONGEST_WAIT.as_secs(), Duration::ZERO, since + LONGEST_WAIT));
        Appointment {
            refusal: ServiceError::Overloaded {
                message: format!(
                    "too many people are signing in right now; please try again in {}",
                    super::throttle::in_words(secs)
                ),
                retry_after_secs: secs,
            },
            hold,
            arrive_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// The seconds a refusal says to wait.
    fn refusal_secs(e: &ServiceError) -> u64 {
        match e {
            ServiceError::Overloaded {
                retry_after_secs, ..
            } => *retry_after_secs,
            other => panic!("expected a refusal, got {other}"),
        }
    }

    /// Books `n` refusals answered at `since`, as the pool would.
    fn book_at(
        calendar: &mut Calendar,
        since: Duration,
        n: usize,
        per_second: u64,
    ) -> Vec<Appointment> {
        (0..n)
            .map(|_| calendar.book(since, Duration::ZERO, per_second))
            .collect()
    }

    /// How many arrive in each second and in each bucket.
    fn tally(arrivals: &[Duration]) -> (BTreeMap<u64, u64>, BTreeMap<u64, u64>) {
        let (mut seconds, mut buckets) = (BTreeMap::new(), BTreeMap::new());
        for at in arrivals {
            *seconds.entry(at.as_secs()).or_default() += 1;
            *buckets
                .entry((at.as_micros() / BUCKET.as_micros()) as u64)
                .or_default() += 1;
        }
        (seconds, buckets)
    }

    #[test]
    fn refusals_come_back_when_told_and_no_second_holds_more_than_the_pool_hashes_in_it() {
        let mut calendar = Calendar::new();
        // 20 a second; 200 refused in one instant fill ten seconds.
        let since = Duration::from_millis(2_140);
        let booked = book_at(&mut calendar, since, 200, 20);
        let arrivals: Vec<Duration> = booked.iter().map(|a| a.arrive_at).collect();
        for a in &booked {
            assert!(a.hold <= SPREAD, "held at most {SPREAD:?}: {:?}", a.hold);
            let secs = refusal_secs(&a.refusal);
            assert!(secs >= 1);
            // Sent after its hold and obeyed, the sign-in comes back at its appointment.
            assert_eq!(since + a.hold + Duration::from_secs(secs), a.arrive_at);
            // One instant's refusals reach the SPREAD after that instant's moment of later
            // seconds only.
            let phase = (a.arrive_at - since).as_secs_f64().fract();
            assert!(phase <= SPREAD.as_secs_f64() + 1e-9, "{:?}", a.arrive_at);
        }
        let (seconds, buckets) = tally(&arrivals);
        assert!(seconds.values().all(|n| *n <= 20), "{seconds:?}");
        assert_eq!(seconds.len(), 10, "ten seconds' worth: {seconds:?}");
        // Spread over the reach rather than crowded at its start: 20 over 300 ms is at most
        // 4 in 50 ms.
        assert!(buckets.values().all(|n| *n <= 4), "{buckets:?}");
        assert!(arrivals
            .iter()
            .all(|at| *at >= since + Duration::from_secs(1)));
    }

    #[test]
    fn refusals_answered_over_a_second_fill_the_seconds_they_come_back_in() {
        // The pool hashes 100 a second; each 10 ms of a second, 10 are refused (1000 in all).
        let mut calendar = Calendar::new();
        let mut arrivals = Vec::new();
        for ms in (0..1000).step_by(10) {
            let since = Duration::from_millis(5_000 + ms);
            arrivals.extend(
                book_at(&mut calendar, since, 10, 100)
                    .iter()
                    .map(|a| a.arrive_at),
            );
        }
        let (seconds, buckets) = tally(&arrivals);
        // Each second takes what the pool hashes in it, spread over 300 ms at least (17 in
        // 50 ms at most), and the 1000 need ten seconds and a part.
        assert!(seconds.values().all(|n| *n <= 100), "{seconds:?}");
        assert!(buckets.values().all(|n| *n <= 17), "{buckets:?}");
        let (first, last) = (
            seconds.keys().next().unwrap(),
            seconds.keys().last().unwrap(),
        );
        assert!(last - first <= 11, "{seconds:?}");
    }

    #[test]
    fn nobody_is_told_to_wait_longer_than_a_minute() {
        // One a second: 500 refusals would fill more than eight minutes.
        let mut calendar = Calendar::new();
        let told: Vec<u64> = (0..500)
            .map(|_| {
                let a = calendar.book(Duration::from_millis(300), Duration::ZERO, 1);
                refusal_secs(&a.refusal)
            })
            .collect();
        assert_eq!(told.iter().max(), Some(&LONGEST_WAIT.as_secs()));
        assert!(told.windows(2).all(|w| w[0] <= w[1]), "{told:?}");
        assert_eq!(told.last(), Some(&LONGEST_WAIT.as_secs()));
    }

    #[test]
    fn a_queue_longer_than_a_second_is_booked_after_it() {
        let mut calendar = Calendar::new();
        let since = Duration::from_millis(700);
        let a = calendar.book(since, Duration::from_millis(2_400), 50);
        assert_eq!(refusal_secs(&a.refusal), 3);
        assert!(a.arrive_at >= since + Duration::from_millis(2_400));
    }
}
