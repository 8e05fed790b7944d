//! Queue disciplines: which waiting job a worker takes next. The queues do the choosing (in
//! SQL, where every waiting job is visible); this module names the disciplines, carries what
//! they look at (a job's size and class), and holds [`order`], the plain definition of each
//! discipline that the queues' tests compare them against.
//!
//! - `fifo`: oldest first (the default).
//! - `lifo`: newest first.
//! - `sjf`: the job with the fewest rows first (ties: oldest first); a job whose size is
//!   unknown counts as [`UNKNOWN_ROWS`].
//! - `round_robin`: the classes (departments) with waiting jobs are served in turn, oldest
//!   first within a class; the class served longest ago (or never) goes next.
//!
//! Ageing: under `lifo` and `sjf` a job that has waited at least `max_wait_ms` is served
//! before every job that has not, oldest first, so no job starves.
//!
//! Background jobs (recomputing stale GPAs: no lecturer waits on them) go behind every other
//! waiting job under `lifo`, `sjf` and `round_robin`, until they have waited `max_wait_ms`;
//! then they are aged like any job. Otherwise these disciplines would serve the refresh that
//! each applied sheet queues (the newest job, or a class of its own) before the sheets still
//! waiting, and a burst of sheets would cost a refresh each. Under `fifo` they keep their
//! place in line.
//!
//! This module must never do I/O or read a clock: the time is always passed in.

use serde::{Deserialize, Serialize};

/// The size assumed for a job whose row count is unknown: larger than any plausible sheet,
/// so unknown jobs are not promoted by SJF (ageing still serves them).
pub const UNKNOWN_ROWS: u32 = 1_000_000;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Discipline {
    #[default]
    Fifo,
    Lifo,
    Sjf,
    RoundRobin,
}

impl Discipline {
    pub const ALL: [Discipline; 4] = [
        Discipline::Fifo,
        Discipline::Lifo,
        Discipline::Sjf,
        Discipline::RoundRobin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Discipline::Fifo => "fifo",
            Discipline::Lifo => "lifo",
            Discipline::Sjf => "sjf",
            Discipline::RoundRobin => "round_robin",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.as_str() == s)
    }

    /// Whether a job's age can override the discipline's own order.
    pub fn ages(self) -> bool {
        matches!(self, Discipline::Lifo | Discipline::Sjf)
    }
}

impl std::fmt::Display for Discipline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A discipline with its ageing limit, as the queues are configured with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueOrder {
    pub discipline: Discipline,
    /// Under `lifo` and `sjf`, a job waiting this long is served next.
    pub max_wait_ms: u64,
}

impl Default for QueueOrder {
    fn default() -> Self {
        QueueOrder {
            discipline: Discipline::Fifo,
            max_wait_ms: 120_000,
        }
    }
}

/// What a discipline knows about a job besides its place in line: its size (rows, known or
/// estimated at upload) and its class (the course's department), both optional, and whether
/// it is background work.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobMeta {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    /// Served after every other waiting job, until aged (see the module's documentation).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub background: bool,
}

impl JobMeta {
    pub fn is_empty(&self) -> bool {
        self.rows.is_none() && self.class.is_none() && !self.background
    }

    /// The size SJF sorts by.
    pub fn sort_rows(&self) -> u32 {
        self.rows.unwrap_or(UNKNOWN_ROWS)
    }

    /// The class round-robin serves in turn; jobs without one share the class "".
    pub fn sort_class(&self) -> &str {
        self.class.as_deref().unwrap_or("")
    }
}

/// A waiting job as the definition sees it: its place in line (`seq`, increasing with
/// arrival), when it arrived, and its meta.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiting {
    pub seq: i64,
    pub enqueued_ms: i64,
    pub meta: JobMeta,
}

/// The order in which `jobs` (all waiting at `now_ms`, nothing taken before) are served by one
/// worker taking one job at a time, returned as their `seq`s. Ages are judged at `now_ms`
/// (the jobs are assumed to be taken in an instant). The queues must agree with this.
pub fn order(jobs: &[Waiting], o: QueueOrder, now_ms: i64) -> Vec<i64> {
    let old = |w: &Waiting| now_ms.saturating_sub(w.enqueued_ms) >= o.max_wait_ms as i64;
    let held_back = o.discipline != Discipline::Fifo;
    let aged = |w: &Waiting| (o.discipline.ages() || (held_back && w.meta.background)) && old(w);
    let mut rest: Vec<&Waiting> = jobs.iter().collect();
    rest.sort_by_key(|w| w.seq);
    let mut served = Vec::with_capacity(rest.len());
    // round-robin: when each class was last served (never: absent).
    let mut turns: Vec<(String, usize)> = Vec::new();
    while !rest.is_empty() {
        let pick = if let Some(i) = rest.iter().position(|w| aged(w)) {
            i // `rest` is in arrival order: the oldest aged job
        } else {
            // Background jobs wait while anything else does (not under fifo). Ties go to the
            // job that arrived first.
            let hold = held_back && rest.iter().any(|w| !w.meta.background);
            let mut candidates = rest
                .iter()
                .enumerate()
                .filter(|(_, w)| !(hold && w.meta.background));
            let turn = |w: &Waiting| {
                turns
                    .iter()
                    .find(|(c, _)| c == w.meta.sort_class())
                    .map_or(0, |(_, t)| *t)
            };
            let picked = match o.discipline {
                Discipline::Fifo => candidates.next(),
                Discipline::Lifo => candidates.next_back(),
                Discipline::Sjf => candidates.min_by_key(|&(i, w)| (w.meta.sort_rows(), i)),
                Discipline::RoundRobin => candidates.min_by_key(|&(i, w)| (turn(w), i)),
            };
            picked.map_or(0, |(i, _)| i)
        };
        let w = rest.remove(pick);
        let class = w.meta.sort_class().to_string();
        let next = served.len() + 1;
        match turns.iter_mut().find(|(c, _)| *c == class) {
            Some(t) => t.1 = next,
            None => turns.push((class, next)),
        }
        served.push(w.seq);
    }
    served
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(seq: i64, rows: u32, class: &str) -> Waiting {
        Waiting {
            seq,
            enqueued_ms: seq * 10,
            meta: JobMeta {
                rows: Some(rows),
                class: Some(class.into()),
                background: false,
            },
        }
    }

    fn jobs() -> Vec<Waiting> {
        vec![
            job(1, 500, "A"),
            job(2, 40, "A"),
            job(3, 900, "A"),
            job(4, 40, "B"),
            job(5, 10, "C"),
        ]
    }

    fn run(d: Discipline, max_wait_ms: u64, now: i64) -> Vec<i64> {
        order(
            &jobs(),
            QueueOrder {
                discipline: d,
                max_wait_ms,
            },
            now,
        )
    }

    #[test]
    fn each_discipline_orders_by_its_definition() {
        let young = 1_000_000;
        assert_eq!(run(Discipline::Fifo, young, 60), [1, 2, 3, 4, 5]);
        assert_eq!(run(Discipline::Lifo, young, 60), [5, 4, 3, 2, 1]);
        assert_eq!(run(Discipline::Sjf, young, 60), [5, 2, 4, 1, 3]);
        // A, B, C each get a turn before A's second and third jobs.
        assert_eq!(run(Discipline::RoundRobin, young, 60), [1, 4, 5, 2, 3]);
    }

    #[test]
    fn ageing_serves_old_jobs_first_under_lifo_and_sjf_only() {
        // At 50 ms with a 25 ms limit, jobs 1 (40 ms old) and 2 (30 ms) are aged.
        assert_eq!(run(Discipline::Lifo, 25, 50), [1, 2, 5, 4, 3]);
        assert_eq!(run(Discipline::Sjf, 25, 50), [1, 2, 5, 4, 3]);
        assert_eq!(run(Discipline::Fifo, 25, 50), [1, 2, 3, 4, 5]);
        assert_eq!(run(Discipline::RoundRobin, 25, 50), [1, 4, 5, 2, 3]);
    }

    #[test]
    fn background_jobs_wait_behind_the_rest_until_aged_except_under_fifo() {
        // A refresh queued first (at 5 ms), with no size or class.
        let mut js = jobs();
        js.insert(
            0,
            Waiting {
                seq: 0,
                enqueued_ms: 5,
                meta: JobMeta {
                    background: true,
                    ..JobMeta::default()
                },
            },
        );
        let at = |d: Discipline, max_wait_ms: u64, now: i64| {
            order(
                &js,
                QueueOrder {
                    discipline: d,
                    max_wait_ms,
                },
                now,
            )
        };
        let young = 1_000_000;
        assert_eq!(at(Discipline::Fifo, young, 60), [0, 1, 2, 3, 4, 5]);
        assert_eq!(at(Discipline::Lifo, young, 60), [5, 4, 3, 2, 1, 0]);
        assert_eq!(at(Discipline::Sjf, young, 60), [5, 2, 4, 1, 3, 0]);
        assert_eq!(at(Discipline::RoundRobin, young, 60), [1, 4, 5, 2, 3, 0]);
        // Aged (at 60 ms with a 30 ms limit: the refresh and jobs 1 to 3), it goes in its
        // arrival order among the aged, under round-robin too (where only it can age).
        assert_eq!(at(Discipline::Lifo, 30, 60), [0, 1, 2, 3, 5, 4]);
        assert_eq!(at(Discipline::Sjf, 30, 60), [0, 1, 2, 3, 5, 4]);
        assert_eq!(at(Discipline::RoundRobin, 30, 60), [0, 1, 4, 5, 2, 3]);
    }

    #[test]
    fn unknown_sizes_go_after_known_ones_and_unknown_classes_share_a_turn() {
        let mut js = jobs();
        js[4].meta = JobMeta::default();
        let o = QueueOrder {
            discipline: Discipline::Sjf,
            max_wait_ms: u64::MAX,
        };
        assert_eq!(order(&js, o, 0), [2, 4, 1, 3, 5]);
        assert!(js[4].meta.is_empty());
        assert_eq!(js[4].meta.sort_class(), "");
    }

    #[test]
    fn names_round_trip() {
        for d in Discipline::ALL {
            assert_eq!(Discipline::parse(d.as_str()), Some(d));
            let json = serde_json::to_string(&d).unwrap();
            assert_eq!(json, format!("\"{d}\""));
        }
        assert_eq!(Discipline::parse("shortest"), None);
    }
}
