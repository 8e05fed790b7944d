//! PostgreSQL-only cases: several portal or worker processes (here, several pools on one
//! database) racing each other through the outbox, submissions and sheet applies. Each
//! case must fail if the locking it checks were removed.

mod common;

use eportal_core::jobs::{Envelope, Job};
use eportal_core::model::CourseTerm;
use eportal_core::Semester;
use eportal_ports::contract::store::fixture::{
    expected_results, judged, refresh_all, seed, sha, submit, term, Uni, LECTURER,
};
use eportal_ports::{ApplyOutcome, NewSheet, Refreshed, Results, SheetStatus, Sheets};
use eportal_postgres::{PgStore, PgStoreOptions};
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

/// Two stores on one fresh database: two processes' worth of pools and relay identities.
async fn two_processes(opts: &PgStoreOptions) -> (Arc<PgStore>, Arc<PgStore>) {
    let url = common::fresh_database().await;
    let a = common::connect(&url, opts).await;
    let b = common::connect(&url, opts).await;
    (Arc::new(a), Arc::new(b))
}

fn sheet_of(e: &Envelope) -> i64 {
    match e.job {
        Job::ProcessSheet { sheet_id } => sheet_id,
        ref other => panic!("only sheet jobs were written, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_relays_never_get_the_same_row() {
    let (a, b) = two_processes(&PgStoreOptions::default()).await;
    let uni = seed(a.as_ref()).await;
    let mut submitted = Vec::new();
    for n in 1..=120 {
        submitted.push(submit(a.as_ref(), &uni.csc101, n).await.id);
    }
    // Each relay drains in small batches, marking each batch done, until nothing is left.
    let relay = |store: Arc<PgStore>| {
        tokio::spawn(async move {
            let mut got = Vec::new();
            loop {
                let batch = store.outbox_pending(7).await.expect("outbox_pending");
                if batch.is_empty() {
                    return got;
                }
                let ids: Vec<i64> = batch.iter().map(|(id, _)| *id).collect();
                got.extend(batch.iter().map(|(_, e)| sheet_of(e)));
                tokio::task::yield_now().await;
                store.outbox_done(&ids).await.expect("outbox_done");
            }
        })
    };
    let (ga, gb) = (relay(a.clone()), relay(b.clone()));
    let (ga, gb) = (ga.await.expect("relay a"), gb.await.expect("relay b"));
    let sa: HashSet<i64> = ga.iter().copied().collect();
    let sb: HashSet<i64> = gb.iter().copied().collect();
    assert_eq!(sa.len(), ga.len(), "relay a got a row twice");
    assert_eq!(sb.len(), gb.len(), "relay b got a row twice");
    assert!(
        sa.is_disjoint(&sb),
        "both relays got {:?}",
        sa.intersection(&sb).collect::<Vec<_>>()
    );
    let all: HashSet<i64> = sa.union(&sb).copied().collect();
    assert_eq!(all, submitted.iter().copied().collect::<HashSet<_>>());
    assert!(a.outbox_pending(10).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_relays_claim_expires() {
    let opts = PgStoreOptions {
        outbox_claim: Duration::from_millis(600),
        ..PgStoreOptions::default()
    };
    let (crashed, survivor) = two_processes(&opts).await;
    let uni = seed(crashed.as_ref()).await;
    let ids: Vec<i64> = [
        submit(crashed.as_ref(), &uni.csc101, 1).await.id,
        submit(crashed.as_ref(), &uni.csc101, 2).await.id,
    ]
    .to_vec();
    let claimed = crashed.outbox_pending(10).await.unwrap();
    assert_eq!(
        claimed.iter().map(|(_, e)| sheet_of(e)).collect::<Vec<_>>(),
        ids
    );
    assert!(
        survivor.outbox_pending(10).await.unwrap().is_empty(),
        "a live claim is not handed to another relay"
    );
    // The claimant itself, retrying, gets its unfinished rows back.
    assert_eq!(crashed.outbox_pending(10).await.unwrap().len(), 2);
    // The claimant never comes back; once its claim lapses the rows go to the survivor.
    crashed.pool().close().await;
    tokio::time::sleep(Duration::from_millis(900)).await;
    let taken = survivor.outbox_pending(10).await.unwrap();
    assert_eq!(
        taken.iter().map(|(_, e)| sheet_of(e)).collect::<Vec<_>>(),
        ids
    );
    survivor
        .outbox_done(&taken.iter().map(|(id, _)| *id).collect::<Vec<_>>())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(900)).await;
    assert!(
        survivor.outbox_pending(10).await.unwrap().is_empty(),
        "published rows never come back"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_submits_of_the_same_bytes_make_one_sheet() {
    let (a, b) = two_processes(&PgStoreOptions::default()).await;
    let uni = seed(a.as_ref()).await;
    let new = NewSheet {
        term: uni.mth101.clone(),
        sha256: sha(77),
        size_bytes: 512,
        filename: Some("mth101.csv".into()),
        uploaded_by: LECTURER.into(),
        mode: eportal_ports::SheetMode::Replace,
        rows_estimate: None,
    };
    let mut tasks = Vec::new();
    for i in 0..12 {
        let store = if i % 2 == 0 { a.clone() } else { b.clone() };
        let new = new.clone();
        tasks.push(tokio::spawn(async move {
            store.submit_sheet(&new, Some(&format!("req-{i}"))).await
        }));
    }
    let mut created = 0;
    let mut ids = HashSet::new();
    for t in tasks {
        let (summary, fresh) = t.await.expect("task").expect("submit_sheet");
        created += usize::from(fresh);
        ids.insert(summary.id);
    }
    assert_eq!(created, 1, "exactly one submit creates the sheet");
    assert_eq!(ids.len(), 1, "every submit names the same sheet");
    assert_eq!(a.sheets_for(&uni.mth101).await.unwrap().len(), 1);
    let pending = a.outbox_pending(50).await.unwrap();
    assert_eq!(pending.len(), 1, "one sheet, one job: {pending:?}");
}

/// Scores for round `k`: different per sheet and per round, so a mixed-up apply shows.
fn scores(k: usize, late: bool) -> Vec<(usize, u16, u16)> {
    let bump = if late { 7 } else { 0 };
    let mut s: Vec<(usize, u16, u16)> = (0..5)
        .map(|i| {
            (
                i,
                ((k * 3 + i * 5 + bump) % 40) as u16,
                ((k * 7 + i * 11 + bump) % 60) as u16,
            )
        })
        .collect();
    if late {
        s.pop(); // the later sheet drops the last student
    }
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_applies_of_one_term_end_consistent() {
    let (a, b) = two_processes(&PgStoreOptions::default()).await;
    let uni = seed(a.as_ref()).await;
    // Six terms of CSC 101 (one per session), two sheets each; all twelve applies race, two
    // workers per term, and every term shares its students with every other term.
    let terms: Vec<CourseTerm> = (0..6)
        .map(|k| term("CSC 101", 2024 + k as u16, Semester::First))
        .collect();
    let mut jobs = Vec::new();
    for (k, t) in terms.iter().enumerate() {
        let early = submit(a.as_ref(), t, 100 + k as u64).await.id;
        let late = submit(a.as_ref(), t, 200 + k as u64).await.id;
        jobs.push((early, judged(&uni, &scores(k, false))));
        jobs.push((late, judged(&uni, &scores(k, true))));
    }
    let mut tasks = Vec::new();
    let mut refreshes = Vec::new();
    for (i, (id, outcome)) in jobs.iter().cloned().enumerate() {
        let store = if i % 2 == 0 { a.clone() } else { b.clone() };
        let book = uni.book.clone();
        tasks.push(tokio::spawn(async move {
            (id, store.apply_sheet(id, &outcome, &book).await)
        }));
        // Refreshes of the stale GPAs race the applies, a few students at a time, on the
        // other process: none may clear a mark an apply made after it read the scores.
        let other = if i % 2 == 0 { b.clone() } else { a.clone() };
        let book = uni.book.clone();
        refreshes.push(tokio::spawn(async move {
            loop {
                match other
                    .refresh_results(&book, 2)
                    .await
                    .expect("refresh_results")
                {
                    Refreshed::Done { students, left } if students == 0 || left == 0 => break,
                    Refreshed::Done { .. } => {}
                    changed => panic!("{changed:?}"),
                }
            }
        }));
    }
    let mut outcomes = BTreeMap::new();
    for t in tasks {
        let (id, out) = t.await.expect("task");
        outcomes.insert(id, out.expect("apply_sheet"));
    }
    for r in refreshes {
        r.await.expect("refresh task");
    }
    // A later sheet applied after the earlier one drops a student, so it waits for the
    // lecturer's confirmation; confirmed, its job runs again (on the other process).
    for (id, outcome) in &jobs {
        if let ApplyOutcome::Held { removed } = outcomes[id] {
            assert_eq!(removed, 1, "only the dropped student");
            a.confirm_sheet(*id, None).await.expect("confirm_sheet");
            let again = b.apply_sheet(*id, outcome, &uni.book).await;
            outcomes.insert(*id, again.expect("apply_sheet after confirming"));
        }
    }
    for (k, t) in terms.iter().enumerate() {
        check_term(b.as_ref(), &uni, t, &scores(k, true), &outcomes).await;
    }
    // What the racing refreshes left (marks made after they read) is refreshed once more.
    refresh_all(b.as_ref(), &uni.book).await;
    for m in &uni.students {
        let records = a.student_records(m).await.unwrap();
        assert_eq!(
            a.semester_results(m).await.unwrap(),
            expected_results(m, &records, &uni.policy),
            "semester results of {m} match its records"
        );
    }
}

/// The term ends as if its later sheet had been applied last (its removal confirmed),
/// whatever the real order was.
async fn check_term(
    store: &PgStore,
    uni: &Uni,
    t: &CourseTerm,
    late_scores: &[(usize, u16, u16)],
    outcomes: &BTreeMap<i64, ApplyOutcome>,
) {
    let sheets = store.sheets_for(t).await.unwrap();
    assert_eq!(sheets.len(), 2);
    let (late, early) = (&sheets[0], &sheets[1]);
    assert_eq!(late.status, SheetStatus::Processed, "{t:?}");
    assert_eq!(
        (early.status, early.superseded_by),
        (SheetStatus::Superseded, Some(late.id))
    );
    assert!(matches!(outcomes[&late.id], ApplyOutcome::Applied { .. }));
    let records = store.course_records(t).await.unwrap();
    let got: Vec<(String, u16, u16, i64)> = records
        .iter()
        .map(|r| {
            (
                r.matric_no.to_string(),
                r.ca.tenths(),
                r.exam.tenths(),
                r.sheet_id,
            )
        })
        .collect();
    let mut want: Vec<(String, u16, u16, i64)> = late_scores
        .iter()
        .map(|&(i, ca, exam)| (uni.students[i].to_string(), ca * 10, exam * 10, late.id))
        .collect();
    want.sort();
    assert_eq!(
        got, want,
        "current records of {t:?} are the later sheet's rows"
    );
    for r in &records {
        let history = store.record_history(&r.matric_no, t).await.unwrap();
        let versions: Vec<u32> = history.iter().map(|h| h.version).collect();
        let expected: Vec<u32> = (1..=versions.len() as u32).collect();
        assert_eq!(
            versions, expected,
            "versions of {} count up from 1",
            r.matric_no
        );
        assert_eq!(history.last().map(|h| h.version), Some(r.version));
    }
}
