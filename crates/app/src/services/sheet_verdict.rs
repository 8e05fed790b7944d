//! The last word on a judged sheet before it is applied: a sheet in which no row could be
//! accepted is rejected as a whole, so it never replaces the scores a course already has
//! (applying it would make the course's records equal its accepted rows: none). The lecturer
//! is told how many rows there were and the most common reasons, with an example row each.
//!
//! This module must never change a sheet that has at least one accepted row, and never let
//! the message grow with the sheet (it is stored and shown).

use eportal_core::sheet::{RowError, RowErrorKind};
use eportal_ports::SheetOutcome;

/// How many distinct reasons the message names.
const REASONS_SHOWN: usize = 3;
/// Longest example row message quoted, in characters.
const EXAMPLE_CHARS: usize = 160;

/// `outcome`, or a whole-sheet rejection when it judged rows and accepted none of them.
pub(crate) fn nothing_accepted_is_rejected(outcome: SheetOutcome) -> SheetOutcome {
    match outcome {
        SheetOutcome::Judged { accepted, rejected } if accepted.is_empty() => {
            SheetOutcome::Rejected {
                message: nothing_accepted_message(&rejected),
            }
        }
        other => other,
    }
}

fn nothing_accepted_message(rejected: &[RowError]) -> String {
    let rows = match rejected.len() {
        0 => return "the sheet has no rows that could be accepted; the course's scores were left as they were".into(),
        1 => "the only row".to_string(),
        n => format!("none of the {n} rows"),
    };
    // Reasons by how many rows they cover, most first; ties keep the order they first appear.
    let mut reasons: Vec<(RowErrorKind, usize, &RowError)> = Vec::new();
    for e in rejected {
        match reasons.iter_mut().find(|(k, _, _)| *k == e.kind) {
            Some((_, n, _)) => *n += 1,
            None => reasons.push((e.kind, 1, e)),
        }
    }
    reasons.sort_by_key(|r| std::cmp::Reverse(r.1));
    let mut parts: Vec<String> = reasons
        .iter()
        .take(REASONS_SHOWN)
        .map(|(_, n, first)| {
            let rows = if *n == 1 {
                "1 row".to_string()
            } else {
                format!("{n} rows")
            };
            // Row messages name their row ("row 7: …").
            format!("{rows}, e.g. {}", excerpt(&first.message, EXAMPLE_CHARS))
        })
        .collect();
    let others: usize = reasons.iter().skip(REASONS_SHOWN).map(|r| r.1).sum();
    if others > 0 {
        parts.push(format!("{others} more rows for other reasons"));
    }
    format!(
        "{rows} could be accepted, so the sheet was rejected as a whole and the course's scores \
         were left as they were: {}",
        parts.join("; ")
    )
}

fn excerpt(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_string(),
        Some((cut, _)) => format!("{}…", &text[..cut]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use eportal_core::sheet::AcceptedRow;
    use eportal_core::{MatricNo, Score};

    fn err(row: usize, kind: RowErrorKind, message: &str) -> RowError {
        RowError {
            row,
            matric: None,
            kind,
            message: message.to_string(),
        }
    }

    #[test]
    fn a_sheet_with_one_accepted_row_is_left_alone() {
        let one = AcceptedRow {
            row: 2,
            matric: MatricNo::parse("CSC/2024/0001").unwrap(),
            ca: Score::from_marks(30),
            exam: Score::from_marks(40),
            total: Score::from_marks(70),
            grade: "A".into(),
            points: 5,
        };
        let outcome = SheetOutcome::Judged {
            accepted: vec![one],
            rejected: vec![err(3, RowErrorKind::UnknownStudent, "unknown")],
        };
        assert_eq!(nothing_accepted_is_rejected(outcome.clone()), outcome);
    }

    #[test]
    fn an_empty_judgement_is_not_applied_either() {
        let outcome = SheetOutcome::Judged {
            accepted: vec![],
            rejected: vec![],
        };
        match nothing_accepted_is_rejected(outcome) {
            SheetOutcome::Rejected { message } => assert!(message.contains("no rows"), "{message}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_message_counts_rows_and_names_the_most_common_reasons_first() {
        let mut rejected = vec![err(
            2,
            RowErrorKind::OutOfRange,
            "row 2: exam 75 is more than 60",
        )];
        for r in 3..=5 {
            rejected.push(err(
                r,
                RowErrorKind::UnknownStudent,
                &format!("row {r}: CRS/1999/000{r} is not a student"),
            ));
        }
        let SheetOutcome::Rejected { message } =
            nothing_accepted_is_rejected(SheetOutcome::Judged {
                accepted: vec![],
                rejected,
            })
        else {
            panic!("not rejected");
        };
        assert_eq!(
            message,
            "none of the 4 rows could be accepted, so the sheet was rejected as a whole and the \
             course's scores were left as they were: 3 rows, e.g. row 3: CRS/1999/0003 is not a \
             student; 1 row, e.g. row 2: exam 75 is more than 60"
        );
    }

    #[test]
    fn the_message_stays_short_however_many_rows_and_reasons() {
        let kinds = [
            RowErrorKind::MissingMatric,
            RowErrorKind::InvalidMatric,
            RowErrorKind::UnknownStudent,
            RowErrorKind::NotRegistered,
            RowErrorKind::NotANumber,
        ];
        let rejected: Vec<RowError> = (0..50_000)
            .map(|r| err(r + 2, kinds[r % kinds.len()], &"x".repeat(10_000)))
            .collect();
        let SheetOutcome::Rejected { message } =
            nothing_accepted_is_rejected(SheetOutcome::Judged {
                accepted: vec![],
                rejected,
            })
        else {
            panic!("not rejected");
        };
        assert!(message.starts_with("none of the 50000 rows"), "{message}");
        assert!(
            message.ends_with("; 20000 more rows for other reasons"),
            "{message}"
        );
        assert!(message.chars().count() < 1_000, "{} chars", message.len());
    }
}
