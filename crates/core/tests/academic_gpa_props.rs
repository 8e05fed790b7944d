//! Properties of GPA and CGPA that must hold for every record under every tested policy:
//! bounds, independence from the order records are read in, the pull of a new course toward
//! its own points, agreement between the running summary and the CGPA, and the retake rules
//! agreeing when nothing was retaken.

use eportal_core::gpa::{cgpa, counted, gpa, summarise, Attempt, Tally};
use eportal_core::grading::{GpaRounding, RetakePolicy};
use eportal_core::{AcademicSession, CourseCode, Gpa, GradingPolicy, Score, Semester};
use proptest::prelude::*;

fn policies() -> impl Strategy<Value = GradingPolicy> {
    (
        prop_oneof![
            Just(GradingPolicy::nigerian_five_point()),
            Just(GradingPolicy::five_point_without_e()),
            Just(GradingPolicy::four_point()),
        ],
        prop_oneof![Just(GpaRounding::HalfUp), Just(GpaRounding::Truncate)],
        prop_oneof![
            Just(RetakePolicy::AllAttemptsCount),
            Just(RetakePolicy::LatestReplaces)
        ],
    )
        .prop_map(|(mut p, rounding, retake)| {
            p.gpa_rounding = rounding;
            p.retake = retake;
            p
        })
}

/// A course from a small pool, so retakes (the same course in two terms) happen often.
fn attempt(course: usize, year: u16, second: bool, units: u8, points: u8) -> Attempt {
    Attempt {
        course: CourseCode::parse(&format!("CSC {}", 101 + course)).unwrap(),
        session: AcademicSession::new(year).unwrap(),
        semester: if second {
            Semester::Second
        } else {
            Semester::First
        },
        units,
        points,
    }
}

/// A policy with a record whose points are all points that policy can award.
fn record(max_len: usize) -> impl Strategy<Value = (GradingPolicy, Vec<Attempt>)> {
    policies().prop_flat_map(move |p| {
        let awardable: Vec<u8> = p.bands.iter().map(|b| b.points).collect();
        let one = (
            0usize..8,
            2019u16..2024,
            any::<bool>(),
            0u8..=6,
            proptest::sample::select(awardable),
        )
            .prop_map(|(c, y, s, u, pts)| attempt(c, y, s, u, pts));
        (Just(p), proptest::collection::vec(one, 0..max_len))
    })
}

fn top(p: &GradingPolicy) -> Gpa {
    Gpa::from_points(p.max_points())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn gpa_and_cgpa_stay_on_the_scale((policy, attempts) in record(40)) {
        let max = top(&policy);
        prop_assert!(gpa(&attempts, &policy) <= max);
        prop_assert!(cgpa(&attempts, &policy) <= max);
        for s in summarise(&attempts, &policy) {
            prop_assert!(s.gpa <= max, "semester GPA {} above {}", s.gpa, max);
            prop_assert!(s.cgpa <= max, "CGPA {} above {}", s.cgpa, max);
        }
    }

    #[test]
    fn the_order_of_records_never_matters(
        (policy, attempts, shuffled) in record(30).prop_flat_map(|(p, a)| {
            let s = Just(a.clone()).prop_shuffle();
            (Just(p), Just(a), s)
        })
    ) {
        prop_assert_eq!(gpa(&attempts, &policy), gpa(&shuffled, &policy));
        prop_assert_eq!(cgpa(&attempts, &policy), cgpa(&shuffled, &policy));
        prop_assert_eq!(summarise(&attempts, &policy), summarise(&shuffled, &policy));
        let mut a: Vec<_> = counted(&attempts, &policy).into_iter().cloned().collect();
        let mut b: Vec<_> = counted(&shuffled, &policy).into_iter().cloned().collect();
        let key = |x: &Attempt| (x.session, x.semester, x.course.clone(), x.points, x.units);
        a.sort_by_key(key);
        b.sort_by_key(key);
        prop_assert_eq!(a, b);
    }

    /// A record built around a whole number of points p: courses at exactly p, and pairs at
    /// p − d and p + d with equal units. Its GPA is exactly p; one more course at p keeps it.
    #[test]
    fn a_course_at_the_current_whole_gpa_leaves_it_unchanged(
        policy in policies(),
        p_frac in 0u8..=100,
        at_p in proptest::collection::vec(1u8..=6, 1..6),
        pairs in proptest::collection::vec((1u8..=6, 0u8..=5), 0..6),
        units in 1u8..=6,
    ) {
        let max = policy.max_points();
        let p = (max as u16 * p_frac as u16 / 100) as u8;
        let mut attempts: Vec<Attempt> = at_p
            .iter()
            .enumerate()
            .map(|(i, &u)| attempt(i, 2020, false, u, p))
            .collect();
        for (i, &(u, d)) in pairs.iter().enumerate() {
            let d = d.min(p).min(max - p);
            attempts.push(attempt(10 + 2 * i, 2020, false, u, p - d));
            attempts.push(attempt(11 + 2 * i, 2020, true, u, p + d));
        }
        prop_assert_eq!(gpa(&attempts, &policy), Gpa::from_points(p), "construction");
        let before = (gpa(&attempts, &policy), cgpa(&attempts, &policy));
        attempts.push(attempt(99, 2021, false, units, p));
        prop_assert_eq!((gpa(&attempts, &policy), cgpa(&attempts, &policy)), before);
    }

    /// More generally, a new course at p points pulls the GPA toward p and never past it.
    #[test]
    fn a_new_course_moves_the_gpa_toward_its_points_never_past(
        (policy, attempts) in record(30),
        p_frac in 0u8..=100,
        units in 0u8..=6,
    ) {
        let p = (policy.max_points() as u16 * p_frac as u16 / 100) as u8;
        let target = Gpa::from_points(p);
        let before = gpa(&attempts, &policy);
        let mut more = attempts.clone();
        more.push(attempt(42, 2030, false, units, p));
        let after = gpa(&more, &policy);
        let (lo, hi) = if before <= target { (before, target) } else { (target, before) };
        if Tally::of(&attempts).units == 0 {
            // Nothing graded yet: the new course alone decides (0.00 if it has no units).
            let expected = if units == 0 { Gpa::default() } else { target };
            prop_assert_eq!(after, expected);
        } else {
            prop_assert!(lo <= after && after <= hi, "{} -> {} with a course at {}", before, after, target);
        }
        if units == 0 {
            prop_assert_eq!(after, before, "a course without units carries no weight");
        }
    }

    #[test]
    fn the_last_running_cgpa_is_the_cgpa((policy, attempts) in record(40)) {
        let summary = summarise(&attempts, &policy);
        match summary.last() {
            None => prop_assert!(attempts.is_empty()),
            Some(last) => {
                prop_assert_eq!(last.cgpa, cgpa(&attempts, &policy));
                prop_assert_eq!(last.cumulative, Tally::of(counted(&attempts, &policy)));
            }
        }
        // Semester tallies partition the record: every attempt is in exactly one semester.
        let mut total = Tally::default();
        for s in &summary {
            total.units += s.tally.units;
            total.weighted += s.tally.weighted;
        }
        prop_assert_eq!(total, Tally::of(&attempts));
        // Terms come out in chronological order, each once.
        let terms: Vec<_> = summary.iter().map(|s| (s.session, s.semester)).collect();
        prop_assert!(terms.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn retake_rules_agree_when_nothing_is_retaken((policy, attempts) in record(40)) {
        // Give every attempt its own course, so no course is repeated.
        let distinct: Vec<Attempt> = attempts
            .iter()
            .enumerate()
            .map(|(i, a)| Attempt { course: CourseCode::parse(&format!("GST {i}")).unwrap(), ..a.clone() })
            .collect();
        let all = GradingPolicy { retake: RetakePolicy::AllAttemptsCount, ..policy.clone() };
        let latest = GradingPolicy { retake: RetakePolicy::LatestReplaces, ..policy };
        prop_assert_eq!(cgpa(&distinct, &all), cgpa(&distinct, &latest));
        prop_assert_eq!(summarise(&distinct, &all), summarise(&distinct, &latest));
    }

    #[test]
    fn latest_replaces_never_counts_a_course_twice((policy, attempts) in record(40)) {
        let latest = GradingPolicy { retake: RetakePolicy::LatestReplaces, ..policy };
        let kept = counted(&attempts, &latest);
        let mut courses: Vec<_> = kept.iter().map(|a| &a.course).collect();
        let n = courses.len();
        courses.sort();
        courses.dedup();
        prop_assert_eq!(courses.len(), n);
        for k in kept {
            prop_assert!(attempts
                .iter()
                .filter(|a| a.course == k.course)
                .all(|a| (a.session, a.semester) <= (k.session, k.semester)));
        }
    }

    #[test]
    fn half_up_is_truncation_or_one_hundredth_more((_, attempts) in record(30)) {
        let t = Tally::of(&attempts);
        let down = t.gpa(GpaRounding::Truncate).hundredths();
        let up = t.gpa(GpaRounding::HalfUp).hundredths();
        prop_assert!(up == down || up == down + 1, "{} vs {}", up, down);
        // Exactness: truncated hundredths h satisfy h ≤ 100·W/U < h + 1, in integers.
        if t.units > 0 {
            let (w, u, h) = (t.weighted as u64 * 100, t.units as u64, down as u64);
            prop_assert!(h * u <= w && w < (h + 1) * u);
        }
    }

    #[test]
    fn scores_survive_display_and_parse(tenths in any::<u16>()) {
        let s = Score::from_tenths(tenths);
        prop_assert_eq!(Score::parse(&s.to_string()), Ok(s));
    }

    #[test]
    fn gpas_survive_display_and_parse(h in any::<u16>()) {
        let g = Gpa::from_hundredths(h);
        prop_assert_eq!(Gpa::parse(&g.to_string()), Some(g));
    }
}
