//! Applying a worker's decision about a sheet, in one transaction.
//!
//! The current scores of a course term are the accepted rows of its latest (highest id)
//! processed replacing sheet, with the rows of "add rows" sheets added to them. Applies of the
//! same term are serialised by a transaction-scoped advisory lock on the term, so two workers
//! can never interleave their writes (the ledger's lock is taken last, when the changed scores
//! are appended to it); a sheet older than the term's processed replacing one is superseded
//! without touching any score. A score gets a new version only when its value changed;
//! versions are unique by constraint. A replacing sheet that would remove scores is held,
//! unapplied (and unrecorded in the ledger), until the lecturer confirms; an amendment's
//! sheet is held until the amendment is approved, and applying it marks the amendment
//! applied.
//!
//! Scores are graded under the active policy book: an apply holds off a regrade's switch
//! while it runs and applies nothing from a sheet judged under another book.
//!
//! Must never apply anything from a sheet that is already final (a redelivered job), and
//! never remove a score the lecturer did not confirm removing.

use crate::error::db;
use crate::PgStore;
use eportal_core::amendment::AmendmentStatus;
use eportal_core::model::CourseTerm;
use eportal_core::sheet::{AcceptedRow, RowError};
use eportal_core::{MatricNo, PolicyBook};
use eportal_ports::amendments::words;
use eportal_ports::changes::{held_message, ChangeTally};
use eportal_ports::error::PortResult;
use eportal_ports::{now_ms, ApplyOutcome, PortError, SheetMode, SheetOutcome};
use sqlx::{PgConnection, Row};
use std::collections::{BTreeMap, BTreeSet};

mod rows;

use rows::{drop_current, history, insert_row_errors, write_scores, Value};

pub(crate) async fn apply(
    store: &PgStore,
    sheet_id: i64,
    outcome: &SheetOutcome,
    book: &PolicyBook,
) -> PortResult<ApplyOutcome> {
    let mut tx = store.pool.begin().await.map_err(db)?;
    // First of all: from here a regrade cannot switch books until this transaction ends, and
    // a sheet judged under a book that is no longer active applies nothing.
    if let Some(active) = crate::policies::stale_book(&mut tx, book).await? {
        return Ok(ApplyOutcome::PolicyChanged { active });
    }
    let Some(row) = sqlx::query("SELECT course_code, session, semester FROM sheets WHERE id = $1")
        .bind(sheet_id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?
    else {
        return Err(PortError::NotFound(format!("sheet {sheet_id}")));
    };
    let code: String = row.try_get("course_code").map_err(db)?;
    let session: i32 = row.try_get("session").map_err(db)?;
    let semester: i32 = row.try_get("semester").map_err(db)?;
    let term = Term {
        code,
        session,
        semester,
    };

    // The term lock first, then the sheet: every apply takes them in this order.
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
        .bind(format!(
            "eportal/term/{}/{}/{}",
            term.code, term.session, term.semester
        ))
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    let (status, mode, confirmed): (String, String, bool) = sqlx::query_as(
        "SELECT status, mode, removals_confirmed FROM sheets WHERE id = $1 FOR UPDATE",
    )
    .bind(sheet_id)
    .fetch_one(&mut *tx)
    .await
    .map_err(db)?;
    let status = crate::convert::status(&status)?;
    if status.is_final() {
        return Ok(ApplyOutcome::AlreadyFinal { status });
    }
    let mode = SheetMode::parse(&mode)
        .ok_or_else(|| PortError::Invalid(format!("stored sheet mode '{mode}' is not valid")))?;
    let amendment = crate::amendments::of_sheet(&mut tx, sheet_id).await?;
    let course_term = CourseTerm {
        course_code: crate::convert::course_code(&term.code)?,
        session: crate::convert::session(term.session)?,
        semester: crate::convert::semester(term.semester)?,
    };

    // A newer sheet of the term already applied: this one replaces nothing, whatever it says.
    let newer: Option<i64> = sqlx::query_scalar(
        "SELECT max(id) FROM sheets WHERE course_code = $1 AND session = $2 AND semester = $3 \
         AND status = 'processed' AND mode = 'replace' AND id > $4",
    )
    .bind(&term.code)
    .bind(term.session)
    .bind(term.semester)
    .bind(sheet_id)
    .fetch_one(&mut *tx)
    .await
    .map_err(db)?;
    let result = match (newer, outcome) {
        (Some(by), _) => {
            sqlx::query(
                "UPDATE sheets SET status = 'superseded', superseded_by = $2, \
                 processed_at_ms = $3 WHERE id = $1",
            )
            .bind(sheet_id)
            .bind(by)
            .bind(now_ms())
            .execute(&mut *tx)
            .await
            .map_err(db)?;
            ApplyOutcome::SupersededAlready { by }
        }
        (None, SheetOutcome::Rejected { message }) => {
            sqlx::query(
                "UPDATE sheets SET status = 'rejected', message = $2, processed_at_ms = $3 \
                 WHERE id = $1",
            )
            .bind(sheet_id)
            .bind(message)
            .bind(now_ms())
            .execute(&mut *tx)
            .await
            .map_err(db)?;
            if let Some((id, _)) = amendment {
                crate::amendments::mark_unusable(&mut tx, id, &course_term, message, now_ms())
                    .await?;
            }
            ApplyOutcome::Applied {
                affected: Vec::new(),
            }
        }
        (None, SheetOutcome::Judged { accepted, rejected }) => {
            let sheet = Judging {
                id: sheet_id,
                mode,
                confirmed,
                amendment,
            };
            let outcome = judged(&mut tx, &term, &sheet, accepted, rejected).await?;
            if let (Some((id, AmendmentStatus::Approved)), ApplyOutcome::Applied { .. }) =
                (amendment, &outcome)
            {
                crate::amendments::mark_applied(&mut tx, id, &course_term, now_ms()).await?;
            }
            outcome
        }
    };
    tx.commit().await.map_err(db)?;
    if let ApplyOutcome::Applied { affected } = &result {
        store.stats.wrote_scores(&store.pool, affected.len() as u64);
    }
    Ok(result)
}

pub(super) struct Term {
    pub(super) code: String,
    pub(super) session: i32,
    pub(super) semester: i32,
}

/// The sheet being applied: its id, mode, whether its removals were confirmed, and the
/// amendment it carries the scores of (with its status), if any.
struct Judging {
    id: i64,
    mode: SheetMode,
    confirmed: bool,
    amendment: Option<(i64, AmendmentStatus)>,
}

async fn judged(
    conn: &mut PgConnection,
    term: &Term,
    sheet: &Judging,
    accepted: &[AcceptedRow],
    rejected: &[RowError],
) -> PortResult<ApplyOutcome> {
    let sheet_id = sheet.id;
    let counts = (
        accepted.len() + rejected.len(),
        accepted.len(),
        rejected.len(),
    );
    // A matric twice on one sheet should have been rejected as a duplicate; if not, the
    // later row wins, as it would for a person reading the sheet top to bottom.
    let mut rows: BTreeMap<&str, &AcceptedRow> = BTreeMap::new();
    for r in accepted {
        rows.insert(r.matric.as_str(), r);
    }

    // A replacing sheet is compared with the whole list (to find who it leaves off); rows
    // added to it only with the scores of their own students.
    let only: Option<Vec<&str>> =
        (sheet.mode == SheetMode::AddRows).then(|| rows.keys().copied().collect());
    let (current, latest) = history(conn, term, only.as_deref()).await?;
    let mut new_versions: Vec<(&AcceptedRow, i32)> = Vec::new();
    let mut affected: BTreeSet<String> = BTreeSet::new();
    let mut tally = ChangeTally::default();
    for (matric, row) in &rows {
        match current.get(*matric) {
            Some(old) if old == &Value::of(row) => {
                tally.unchanged += 1;
                continue;
            }
            Some(_) => tally.changed.push(matric.to_string()),
            None => tally.added += 1,
        }
        // Versions continue from the student's history, also after a drop and a re-add.
        new_versions.push((row, latest.get(*matric).map_or(1, |v| v + 1)));
        affected.insert(matric.to_string());
    }
    let removed: Vec<String> = match sheet.mode {
        SheetMode::AddRows => Vec::new(),
        SheetMode::Replace => current
            .keys()
            .filter(|m| !rows.contains_key(m.as_str()))
            .cloned()
            .collect(),
    };
    affected.extend(removed.iter().cloned());
    tally.removed.clone_from(&removed);
    let changes = tally.finish();
    let awaiting = match sheet.amendment {
        Some((id, AmendmentStatus::Pending)) => Some(id),
        _ => None,
    };
    let held = (changes.removed > 0 && !sheet.confirmed) || awaiting.is_some();

    insert_row_errors(conn, sheet_id, rejected).await?;
    if !held {
        if sheet.mode == SheetMode::Replace {
            sqlx::query(
                "UPDATE sheets SET status = 'superseded', superseded_by = $4 \
                 WHERE course_code = $1 AND session = $2 AND semester = $3 \
                 AND status IN ('processed', 'held') AND id < $4",
            )
            .bind(&term.code)
            .bind(term.session)
            .bind(term.semester)
            .bind(sheet_id)
            .execute(&mut *conn)
            .await
            .map_err(db)?;
        }
        write_scores(conn, term, sheet_id, &new_versions).await?;
        drop_current(conn, term, &removed).await?;
    }
    let (status, message) = if held {
        let message = match awaiting {
            Some(id) => words::awaiting_approval(id, &changes),
            None => held_message(&changes),
        };
        ("held", Some(message))
    } else {
        ("processed", None)
    };
    sqlx::query(
        "UPDATE sheets SET status = $6, rows_total = $2, rows_accepted = $3, \
         rows_rejected = $4, message = $7, processed_at_ms = $5, changes = $8 WHERE id = $1",
    )
    .bind(sheet_id)
    .bind(count(counts.0)?)
    .bind(count(counts.1)?)
    .bind(count(counts.2)?)
    .bind(now_ms())
    .bind(status)
    .bind(message)
    .bind(
        serde_json::to_string(&changes)
            .map_err(|e| PortError::Invalid(format!("sheet changes: {e}")))?,
    )
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    if held {
        return Ok(ApplyOutcome::Held {
            removed: changes.removed,
        });
    }

    let affected: Vec<String> = affected.into_iter().collect();
    crate::results::mark_stale(conn, &affected).await?;
    let key = (term.code.as_str(), term.session, term.semester);
    crate::ledger::append_scores(conn, key, sheet_id, &new_versions, &removed, now_ms()).await?;
    let affected = affected
        .iter()
        .map(|m| crate::convert::matric(m))
        .collect::<PortResult<Vec<MatricNo>>>()?;
    Ok(ApplyOutcome::Applied { affected })
}

pub(super) fn count(n: usize) -> PortResult<i32> {
    i32::try_from(n).map_err(|_| PortError::Invalid(format!("a sheet of {n} rows is too large")))
}
