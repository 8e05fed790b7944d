//! Store cases for a whole regrade: map → reduce → commit giving what grading from scratch
//! under the new book gives, redelivered tasks doing nothing, sheets applied during a
//! regrade graded again at the switch, and (with a relayed outbox) each phase's jobs
//! written when the phase before ends.

use super::fixture::*;
use super::policies::{next_book, run_map, run_reduce, status};
use crate::{ApplyOutcome, Committed, RecordStore, RegradeParts, RegradeStatus, SheetOutcome};
use eportal_core::grading::ABSENT_GRADE;
use eportal_core::jobs::{Envelope, Job};
use eportal_core::model::CourseTerm;
use eportal_core::regrade::{self, RegradeRow};
use eportal_core::sheet::AcceptedRow;
use eportal_core::{MatricNo, PolicyBook, Score};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// The fixture's university with a sixth student admitted in 2023 (`uni.students[5]`, an
/// older cohort), registered for CSC 101, MTH 101 and MTH 102.
async fn seed_cohorts(store: &dyn RecordStore) -> Uni {
    let mut uni = seed(store).await;
    let mut older = student("SCI/2023/0001", "Senior", "BSC-CSC");
    older.entry_session = session(2023);
    store
        .upsert_students(std::slice::from_ref(&older))
        .await
        .unwrap();
    let regs: Vec<_> = [&uni.csc101, &uni.mth101, &uni.mth102]
        .into_iter()
        .map(|t| registration(&older.matric_no, t))
        .collect();
    store.upsert_registrations(&regs).await.unwrap();
    uni.students.push(older.matric_no);
    uni
}

/// (student index, CA, exam), as [`judged`] takes them.
type Scores = (usize, u16, u16);

/// Scores in every fixture term, E grades (40–44) included, and one absence.
async fn upload_everything(store: &dyn RecordStore, uni: &Uni) {
    let sheets: [(&CourseTerm, &[Scores]); 3] = [
        (
            &uni.mth101,
            &[(0, 30, 45), (1, 10, 32), (2, 20, 30), (5, 20, 21)],
        ),
        (&uni.csc102, &[(0, 25, 38), (1, 15, 27), (3, 30, 12)]),
        (&uni.mth102, &[(0, 18, 30), (2, 35, 40), (5, 12, 30)]),
    ];
    for (n, (t, scores)) in sheets.into_iter().enumerate() {
        let (_, out) = upload(store, uni, t, 10 + n as u64, scores).await;
        assert!(matches!(out, ApplyOutcome::Applied { .. }), "{out:?}");
    }
    // CSC 101 with an absence: ABS stays ABS whatever the policy.
    let SheetOutcome::Judged { mut accepted, .. } =
        judged(uni, &[(0, 30, 14), (1, 20, 22), (4, 35, 35), (5, 22, 20)])
    else {
        unreachable!("judged gives judged rows")
    };
    accepted.push(AcceptedRow {
        row: 9,
        matric: uni.students[2].clone(),
        ca: Score::from_marks(0),
        exam: Score::from_marks(0),
        total: Score::from_marks(0),
        grade: ABSENT_GRADE.into(),
        points: 0,
    });
    let s = submit(store, &uni.csc101, 20).await;
    let outcome = SheetOutcome::Judged {
        accepted,
        rejected: vec![],
    };
    let out = store.apply_sheet(s.id, &outcome, &uni.book).await.unwrap();
    assert!(matches!(out, ApplyOutcome::Applied { .. }), "{out:?}");
}

/// Every student's records and semester results are what grading their scores from scratch
/// under `book` gives, and are read with `book`'s version.
async fn assert_graded_from_scratch(store: &dyn RecordStore, uni: &Uni, book: &PolicyBook) {
    for m in &uni.students {
        let entry = store.student(m).await.unwrap().unwrap().entry_session;
        let (records, version) = store.graded_records(m).await.unwrap();
        assert_eq!(records, store.student_records(m).await.unwrap(), "{m}");
        assert_eq!(
            version,
            (!records.is_empty()).then_some(book.version),
            "{m}"
        );
        let mut fresh: Vec<RegradeRow> = records.iter().map(|r| RegradeRow::of(r, entry)).collect();
        regrade::map(book, &mut fresh);
        for (r, f) in records.iter().zip(&fresh) {
            assert_eq!(
                (&r.grade, r.points),
                (&f.grade, f.points),
                "{m} in {} graded under version {}",
                r.course_code,
                book.version
            );
        }
        assert_eq!(
            store.semester_results(m).await.unwrap(),
            regrade::reduce(book, &fresh),
            "semester results of {m}"
        );
    }
}

/// (matric, course) → (grade, points) of every current record.
async fn grades(store: &dyn RecordStore, uni: &Uni) -> HashMap<(MatricNo, String), (String, u8)> {
    let mut out = HashMap::new();
    for m in &uni.students {
        for r in store.student_records(m).await.unwrap() {
            out.insert(
                (m.clone(), r.course_code.as_str().to_string()),
                (r.grade, r.points),
            );
        }
    }
    out
}

pub async fn a_regrade_grades_as_from_scratch(store: Arc<dyn RecordStore>) {
    let uni = seed_cohorts(store.as_ref()).await;
    upload_everything(store.as_ref(), &uni).await;
    let before = grades(store.as_ref(), &uni).await;
    // The roster tells each student's cohort, which says their policy.
    let asked = [uni.students[0].clone(), uni.students[5].clone()];
    let roster = store.roster(&uni.csc101, &asked).await.unwrap();
    assert_eq!(
        roster.entry,
        HashMap::from([
            (asked[0].clone(), session(2024)),
            (asked[1].clone(), session(2023)),
        ])
    );
    let all_terms: HashSet<CourseTerm> = [&uni.csc101, &uni.mth101, &uni.csc102, &uni.mth102]
        .into_iter()
        .cloned()
        .collect();
    let terms = store.graded_terms().await.unwrap();
    assert_eq!(terms.len(), 4, "each term once: {terms:?}");
    assert_eq!(terms.into_iter().collect::<HashSet<_>>(), all_terms);
    let all_rows = store.regrade_rows(&uni_terms(&uni)).await.unwrap();
    assert_eq!(all_rows.len(), before.len(), "one row per current record");

    let book = next_book(&uni);
    let parts = RegradeParts { map: 3, reduce: 2 };
    let r = store.start_regrade(&book, parts, "registry").await.unwrap();
    assert_eq!(
        (r.status, r.from_version, r.to_version, r.maps_done),
        (RegradeStatus::Mapping, 1, 2, 0)
    );
    let book = store.policy_book(2).await.unwrap().expect("stored pending");
    assert_eq!(book.version, 2);
    assert_eq!(store.active_policy_version().await.unwrap(), 1, "pending");

    let mut changed = 0;
    for part in 0..parts.map {
        let (done, c) = run_map(store.as_ref(), &r, &book, part).await;
        assert!(done, "map {part} done");
        changed += c;
        let now = status(store.as_ref(), r.id).await;
        assert_eq!(now.maps_done, part + 1);
        let last = part + 1 == parts.map;
        let expected = if last {
            RegradeStatus::Reducing
        } else {
            RegradeStatus::Mapping
        };
        assert_eq!(now.status, expected, "after map {part}");
    }
    let mapped = status(store.as_ref(), r.id).await;
    assert_eq!(
        (mapped.records, mapped.changed),
        (before.len() as u64, changed)
    );
    assert!(changed > 0, "the new book changes grades");
    // A map task delivered again writes nothing.
    assert!(
        !run_map(store.as_ref(), &r, &book, 0).await.0,
        "redelivered"
    );
    assert_eq!(status(store.as_ref(), r.id).await, mapped);
    // Until the switch, readers see the old book's grades.
    assert_eq!(grades(store.as_ref(), &uni).await, before);
    let (_, v) = store.graded_records(&uni.students[0]).await.unwrap();
    assert_eq!(v, Some(1));

    for part in 0..parts.reduce {
        assert!(
            run_reduce(store.as_ref(), &r, &book, part).await,
            "reduce {part}"
        );
    }
    let reduced = status(store.as_ref(), r.id).await;
    assert_eq!(
        (reduced.status, reduced.reduces_done, reduced.students),
        (
            RegradeStatus::Committing,
            parts.reduce,
            uni.students.len() as u64
        )
    );
    assert!(
        !run_reduce(store.as_ref(), &r, &book, 1).await,
        "redelivered"
    );
    assert_eq!(status(store.as_ref(), r.id).await, reduced);

    let committed = store.commit_regrade(r.id).await.unwrap();
    let after = grades(store.as_ref(), &uni).await;
    let differ = before
        .iter()
        .filter(|(k, g)| after.get(*k) != Some(*g))
        .count();
    assert_eq!(
        committed,
        Committed {
            changed: differ as u64,
            graded_at_commit: 0,
            switched: true,
        }
    );
    assert_eq!(
        differ as u64, changed,
        "the map's count of changes is the switch's"
    );
    assert_eq!(
        after.get(&(uni.students[2].clone(), "CSC 101".into())),
        Some(&(ABSENT_GRADE.to_string(), 0)),
        "an absence stays an absence"
    );
    let done = status(store.as_ref(), r.id).await;
    assert_eq!(done.status, RegradeStatus::Done);
    assert!(done.finished_at_ms.is_some());
    assert_eq!(store.active_policy().await.unwrap(), Some(book.clone()));
    assert_graded_from_scratch(store.as_ref(), &uni, &book).await;

    // Redelivered after the switch: nothing changes.
    assert_eq!(
        store.commit_regrade(r.id).await.unwrap(),
        Committed::default()
    );
    assert!(!store.finish_map(r.id, 0, &[], 0).await.unwrap());
    assert!(!store.finish_reduce(r.id, 0, &[]).await.unwrap());
    assert_eq!(grades(store.as_ref(), &uni).await, after);
    assert_eq!(
        store
            .graded_records(&matric("SCI/2024/0999"))
            .await
            .unwrap(),
        (vec![], None),
        "no records, no version"
    );
}

fn uni_terms(uni: &Uni) -> Vec<CourseTerm> {
    vec![
        uni.csc101.clone(),
        uni.mth101.clone(),
        uni.csc102.clone(),
        uni.mth102.clone(),
    ]
}

pub async fn a_sheet_applied_during_a_regrade_is_graded_at_the_switch(store: Arc<dyn RecordStore>) {
    let uni = seed_cohorts(store.as_ref()).await;
    let first = [(0, 30, 14), (1, 20, 22), (5, 22, 20)];
    upload(store.as_ref(), &uni, &uni.csc101, 1, &first).await;
    upload(
        store.as_ref(),
        &uni,
        &uni.mth101,
        2,
        &[(0, 21, 21), (5, 30, 30)],
    )
    .await;
    let book = next_book(&uni);
    let parts = RegradeParts { map: 2, reduce: 2 };
    let r = store.start_regrade(&book, parts, "registry").await.unwrap();
    let book = store.policy_book(r.to_version).await.unwrap().unwrap();
    for part in 0..parts.map {
        assert!(run_map(store.as_ref(), &r, &book, part).await.0);
    }
    // Between map and reduce (the old book is still active): a score changes, and the
    // student of the older cohort is dropped from CSC 101, so the results staged for them
    // count a course they no longer have.
    let changed = [(0, 30, 14), (1, 20, 23)];
    let (_, out) = upload_confirmed(store.as_ref(), &uni, &uni.csc101, 3, &changed).await;
    assert!(matches!(out, ApplyOutcome::Applied { .. }), "{out:?}");
    for part in 0..parts.reduce {
        assert!(run_reduce(store.as_ref(), &r, &book, part).await);
    }
    // Between reduce and commit: a term no map task saw.
    let (_, out) = upload(
        store.as_ref(),
        &uni,
        &uni.mth102,
        4,
        &[(0, 20, 22), (2, 9, 9)],
    )
    .await;
    assert!(matches!(out, ApplyOutcome::Applied { .. }), "{out:?}");
    let (_, v) = store.graded_records(&uni.students[1]).await.unwrap();
    assert_eq!(v, Some(1), "applied under the active book");

    let committed = store.commit_regrade(r.id).await.unwrap();
    assert!(committed.switched);
    assert!(
        committed.graded_at_commit >= 3,
        "the changed score and the new term's two: {committed:?}"
    );
    assert_graded_from_scratch(store.as_ref(), &uni, &book).await;
}

/// The jobs waiting in the outbox, handed over (marked done).
async fn drain(store: &dyn RecordStore) -> Vec<Envelope> {
    let jobs = store.outbox_pending(100).await.unwrap();
    let ids: Vec<i64> = jobs.iter().map(|(id, _)| *id).collect();
    store.outbox_done(&ids).await.unwrap();
    jobs.into_iter().map(|(_, e)| e).collect()
}

/// PostgreSQL's outbox (the relay's view): each phase's jobs appear when the last task of
/// the phase before is done, once.
pub async fn regrade_jobs_go_through_the_outbox(store: Arc<dyn RecordStore>) {
    let uni = seed(store.as_ref()).await;
    upload(
        store.as_ref(),
        &uni,
        &uni.csc101,
        1,
        &[(0, 30, 12), (1, 20, 40)],
    )
    .await;
    upload(store.as_ref(), &uni, &uni.mth101, 2, &[(0, 10, 31)]).await;
    let drain = || drain(store.as_ref());
    drain().await;
    let book = next_book(&uni);
    let parts = RegradeParts { map: 2, reduce: 3 };
    let r = store.start_regrade(&book, parts, "registry").await.unwrap();
    let id = r.id;
    let env = |job| Envelope::new(job, None);
    assert_eq!(
        drain().await,
        (0..2)
            .map(|part| env(Job::RegradeMap {
                regrade_id: id,
                part
            }))
            .collect::<Vec<_>>()
    );
    let book = store.policy_book(r.to_version).await.unwrap().unwrap();
    assert!(run_map(store.as_ref(), &r, &book, 1).await.0);
    assert_eq!(drain().await, vec![], "not the last map");
    assert!(run_map(store.as_ref(), &r, &book, 0).await.0);
    assert_eq!(
        drain().await,
        (0..3)
            .map(|part| env(Job::RegradeReduce {
                regrade_id: id,
                part
            }))
            .collect::<Vec<_>>()
    );
    assert!(!run_map(store.as_ref(), &r, &book, 0).await.0);
    assert_eq!(drain().await, vec![], "a redelivered map writes no jobs");
    for part in [2, 0] {
        assert!(run_reduce(store.as_ref(), &r, &book, part).await);
    }
    assert_eq!(drain().await, vec![], "not the last reduce");
    assert!(run_reduce(store.as_ref(), &r, &book, 1).await);
    assert_eq!(
        drain().await,
        vec![env(Job::RegradeCommit { regrade_id: id })]
    );
    assert!(store.commit_regrade(id).await.unwrap().switched);
    assert_eq!(drain().await, vec![], "the switch writes no job");
}
