//! The ledger's hash chain and its verifier: worked examples of each kind of tampering, and
//! properties over random chains (any single alteration, removal or swap is found and named).

use eportal_core::ledger::{
    chain, hash_entry, Draft, Entry, LedgerKey, Problem, ScoreBody, Subject, TransitionBody,
    Walker, GENESIS_HASH,
};
use proptest::prelude::*;

fn subject(i: i64) -> Subject {
    Subject {
        course_code: "CSC201".into(),
        session: 2024,
        semester: 1,
        matric_no: Some(format!("SCI/2021/{i:04}")),
    }
}

fn drafts(n: usize) -> Vec<Draft> {
    (0..n as i64)
        .map(|i| {
            if i % 5 == 4 {
                let body = TransitionBody {
                    from: "draft".into(),
                    to: "submitted".into(),
                    reason: None,
                };
                let mut s = subject(i);
                s.matric_no = None;
                Draft::transition(1_000 + i, "L001", s, &body)
            } else {
                let body = ScoreBody {
                    ca: 300 + i,
                    exam: 400,
                    total: 700 + i,
                    grade: "A".into(),
                    points: 5,
                    version: 1,
                    sheet_id: 7,
                };
                Draft::score(1_000 + i, "L001", subject(i), &body)
            }
        })
        .collect()
}

fn key() -> LedgerKey {
    LedgerKey::from_seed([42; 32])
}

/// Walks `entries` with signatures of `signed` seqs made from the untouched `original`.
fn walk(entries: &[Entry], original: &[Entry], signed: &[i64]) -> Result<u64, Problem> {
    let k = key();
    let sigs = signed
        .iter()
        .map(|s| {
            let e = &original[(*s - 1) as usize];
            k.sign_head(e.seq, &e.hash, 5)
        })
        .collect();
    let mut w = Walker::new(k.public(), sigs)?;
    for e in entries {
        w.push(e)?;
    }
    w.finish().map(|r| r.entries)
}

#[test]
fn a_chain_links_each_entry_to_the_one_before() {
    let c = chain(None, drafts(3));
    assert_eq!(c[0].seq, 1);
    assert_eq!(c[0].prev_hash, GENESIS_HASH);
    assert_eq!(c[1].prev_hash, c[0].hash);
    assert_eq!(c[2].prev_hash, c[1].hash);
    for e in &c {
        assert_eq!(hash_entry(e), e.hash);
    }
    // Chaining in two goes gives the same chain as in one.
    let first = chain(None, drafts(3)[..2].to_vec());
    let rest = chain(Some((2, &first[1].hash)), drafts(3)[2..].to_vec());
    assert_eq!(rest[0], c[2]);
}

#[test]
fn field_boundaries_cannot_shift() {
    let c = chain(None, drafts(1));
    let mut a = c[0].clone();
    a.actor = "L00".into();
    a.kind = format!("1{}", a.kind);
    assert_ne!(hash_entry(&a), c[0].hash);
    let mut b = c[0].clone();
    b.subject.matric_no = None;
    assert_ne!(hash_entry(&b), c[0].hash);
}

#[test]
fn an_untouched_signed_chain_verifies() {
    let c = chain(None, drafts(10));
    assert_eq!(walk(&c, &c, &[4, 10]), Ok(10));
    let k = key();
    let mut w = Walker::new(k.public(), vec![k.sign_head(6, &c[5].hash, 1)]).unwrap();
    for e in &c {
        w.push(e).unwrap();
    }
    let r = w.finish().unwrap();
    assert_eq!(
        (r.last_signed, r.unsigned_after, r.signatures),
        (Some(6), 4, 1)
    );
}

#[test]
fn an_altered_entry_is_named() {
    let c = chain(None, drafts(10));
    let mut t = c.clone();
    t[4].body = t[4].body.replace("submitted", "published");
    let p = walk(&t, &c, &[10]).unwrap_err();
    assert!(matches!(p, Problem::Altered { seq: 5, .. }), "{p}");
    assert!(p.to_string().contains("seq 5"), "{p}");
}

#[test]
fn a_removed_entry_is_named() {
    let c = chain(None, drafts(10));
    let mut t = c.clone();
    t.remove(3);
    let p = walk(&t, &c, &[10]).unwrap_err();
    assert_eq!(p.seq(), 4);
    assert!(p.to_string().contains("seq 4 is missing"), "{p}");
    // The last entry removed: only the signature shows it.
    let p = walk(&c[..9], &c, &[10]).unwrap_err();
    assert!(matches!(p, Problem::Missing { expected: 10, .. }), "{p}");
}

#[test]
fn swapped_entries_are_out_of_order() {
    let c = chain(None, drafts(10));
    let mut t = c.clone();
    t.swap(5, 6);
    t[5].seq = 6;
    t[6].seq = 7;
    let p = walk(&t, &c, &[10]).unwrap_err();
    assert!(matches!(p, Problem::OutOfOrder { seq: 6, .. }), "{p}");
}

#[test]
fn a_rewritten_chain_fails_the_signature_check() {
    let c = chain(None, drafts(10));
    let mut d = drafts(10);
    d[2].body = d[2].body.replace("\"exam\":400", "\"exam\":600");
    let forged = chain(None, d);
    // As a chain it is perfect…
    let k = key();
    let mut w = Walker::new(k.public(), vec![]).unwrap();
    for e in &forged {
        w.push(e).unwrap();
    }
    // …but it has no signature of ours, and the old signatures do not match it.
    assert!(matches!(w.finish(), Err(Problem::Unsigned { .. })));
    let p = walk(&forged, &c, &[5]).unwrap_err();
    assert!(
        matches!(p, Problem::SignedHashDiffers { seq: 5, .. }),
        "{p}"
    );
    // A signature by another key is no help to the forger.
    let theirs = LedgerKey::from_seed([1; 32]);
    let mut w = Walker::new(k.public(), vec![theirs.sign_head(10, &forged[9].hash, 1)]).unwrap();
    for e in &forged {
        w.push(e).unwrap();
    }
    assert!(matches!(w.finish(), Err(Problem::Unsigned { .. })));
}

#[test]
fn a_tampered_signature_is_refused() {
    let c = chain(None, drafts(3));
    let k = key();
    let mut s = k.sign_head(3, &c[2].hash, 1);
    s.signature = s.signature.replace('a', "b");
    if s.signature == k.sign_head(3, &c[2].hash, 1).signature {
        s.signature = "00".repeat(64);
    }
    assert!(matches!(
        Walker::new(k.public(), vec![s]),
        Err(Problem::BadSignature { seq: 3, .. })
    ));
}

#[test]
fn an_empty_ledger_verifies() {
    let w = Walker::new(key().public(), vec![]).unwrap();
    assert_eq!(w.finish().unwrap().entries, 0);
}

#[derive(Debug, Clone)]
enum Tamper {
    Alter(usize),
    Remove(usize),
    Swap(usize),
}

fn tamper() -> impl Strategy<Value = (usize, Tamper)> {
    (3usize..40).prop_flat_map(|n| {
        (
            Just(n),
            prop_oneof![
                (0..n).prop_map(Tamper::Alter),
                (0..n).prop_map(Tamper::Remove),
                (0..n - 1).prop_map(Tamper::Swap),
            ],
        )
    })
}

proptest! {
    #[test]
    fn any_single_tampering_is_found_at_its_entry((n, t) in tamper()) {
        let c = chain(None, drafts(n));
        let mut x = c.clone();
        let expected = match t {
            Tamper::Alter(i) => {
                x[i].at_ms += 1;
                i as i64 + 1
            }
            Tamper::Remove(i) => {
                x.remove(i);
                i as i64 + 1
            }
            Tamper::Swap(i) => {
                x.swap(i, i + 1);
                x[i].seq = i as i64 + 1;
                x[i + 1].seq = i as i64 + 2;
                i as i64 + 1
            }
        };
        let p = walk(&x, &c, &[n as i64]).unwrap_err();
        prop_assert_eq!(p.seq(), expected, "{}", p);
    }

    #[test]
    fn untouched_chains_always_verify(n in 1usize..60) {
        let c = chain(None, drafts(n));
        prop_assert_eq!(walk(&c, &c, &[n as i64]), Ok(n as u64));
    }
}
