//! Applying a worker's decision about a sheet, in one write transaction: the term's current
//! records become the sheet's accepted rows (changed scores get a new version, the old one
//! stays in history; students left off a replacing sheet lose their current record, once the
//! lecturer has confirmed that), row errors, counts and changes are stored, older sheets are
//! superseded, the affected students' stored semester results are marked stale (a queued
//! refresh recomputes them), and every changed score is appended to the ledger. An
//! amendment's sheet is held until the amendment is approved, and applying it marks the
//! amendment applied. It must never apply anything from a sheet that is already final or
//! older than the term's applied replacing sheet, so a redelivered or late job changes
//! nothing, and never remove a score the lecturer did not confirm removing.
//!
//! Speed matters (a semester is hundreds of thousands of rows): each kind of write is one
//! statement of bound rows (thousands a statement) or over a JSON array, an "add rows" sheet
//! is compared only with its own students' scores, new versions are copied from the rows
//! just written, the ledger's entries are hashed and bound while the writer inserts the
//! scores, and GPAs are left to one refresh for a whole burst of sheets.

use crate::error::db;
use crate::ledger::ScoreChange;
use crate::rows::{get, json_list};
use crate::sheets::{kind_str, status};
use crate::SqliteStore;
use eportal_core::amendment::AmendmentStatus;
use eportal_core::ledger::ScoreBody;
use eportal_core::model::CourseTerm;
use eportal_core::sheet::{AcceptedRow, RowError};
use eportal_core::{MatricNo, PolicyBook};
use eportal_ports::amendments::words;
use eportal_ports::changes::{held_message, ChangeTally};
use eportal_ports::error::PortResult;
use eportal_ports::{
    now_ms, ApplyOutcome, PortError, SheetChanges, SheetMode, SheetOutcome, SheetStatus,
};
use serde_json::json;
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};
use std::collections::{BTreeSet, HashMap};

/// A stored score, compared with an incoming row to tell a change from a repeat.
#[derive(PartialEq, Clone)]
struct Stored {
    ca: i64,
    exam: i64,
    total: i64,
    grade: String,
    points: i64,
}

impl Stored {
    fn of(r: &AcceptedRow) -> Stored {
        Stored {
            ca: r.ca.tenths() as i64,
            exam: r.exam.tenths() as i64,
            total: r.total.tenths() as i64,
            grade: r.grade.clone(),
            points: r.points as i64,
        }
    }
}

fn bind_term<'q>(
    q: sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>>,
    t: &'q CourseTerm,
) -> sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>> {
    q.bind(t.course_code.as_str())
        .bind(t.session.start_year() as i64)
        .bind(t.semester.number() as i64)
}

pub(crate) async fn apply_sheet(
    store: &SqliteStore,
    sheet_id: i64,
    outcome: &SheetOutcome,
    book: &PolicyBook,
) -> PortResult<ApplyOutcome> {
    let mut tx = store.begin().await?;
    // The one writer: a regrade's switch is either wholly before this or wholly after.
    let active = crate::policies::active_version(&mut *tx).await?;
    if active != book.version {
        return Ok(ApplyOutcome::PolicyChanged { active });
    }
    let row = sqlx::query(
        "SELECT course_code, session, semester, status, mode, removals_confirmed, uploaded_by \
         FROM sheets WHERE id = ?1",
    )
    .bind(sheet_id)
    .fetch_optional(&mut *tx)
    .await
    .map_err(db)?
    .ok_or_else(|| PortError::NotFound(format!("sheet {sheet_id}")))?;
    let current = status(&get::<String>(&row, "status")?)?;
    if current.is_final() {
        return Ok(ApplyOutcome::AlreadyFinal { status: current });
    }
    let term = crate::rows::term_of(&row)?;
    let mode = crate::sheets::mode(&get::<String>(&row, "mode")?)?;
    let confirmed = get::<i64>(&row, "removals_confirmed")? != 0;
    let amendment = crate::amendments::of_sheet(&mut tx, sheet_id).await?;
    let now = now_ms();

    let newer: Option<i64> = bind_term(
        sqlx::query(
            "SELECT MAX(id) AS id FROM sheets WHERE course_code = ?1 AND session = ?2 \
             AND semester = ?3 AND status = 'processed' AND mode = 'replace' AND id > ?4",
        ),
        &term,
    )
    .bind(sheet_id)
    .fetch_one(&mut *tx)
    .await
    .map_err(db)
    .and_then(|r| get(&r, "id"))?;
    if let Some(by) = newer {
        sqlx::query(
            "UPDATE sheets SET status = 'superseded', superseded_by = ?2, processed_at_ms = ?3 \
             WHERE id = ?1",
        )
        .bind(sheet_id)
        .bind(by)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        return Ok(ApplyOutcome::SupersededAlready { by });
    }

    let (accepted, rejected) = match outcome {
        SheetOutcome::Rejected { message } => {
            sqlx::query(
                "UPDATE sheets SET status = 'rejected', message = ?2, processed_at_ms = ?3 \
                 WHERE id = ?1",
            )
            .bind(sheet_id)
            .bind(message)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
            if let Some((id, _)) = amendment {
                crate::amendments::mark_unusable(&mut tx, id, &term, message, now).await?;
            }
            tx.commit().await.map_err(db)?;
            return Ok(ApplyOutcome::Applied { affected: vec![] });
        }
        SheetOutcome::Judged { accepted, rejected } => (accepted, rejected),
    };

    let mut plan = plan_records(&mut tx, &term, sheet_id, accepted, mode).await?;
    let awaiting = match amendment {
        Some((id, AmendmentStatus::Pending)) => Some(id),
        _ => None,
    };
    let held = (plan.changes.removed > 0 && !confirmed) || awaiting.is_some();
    write_row_errors(&mut tx, sheet_id, rejected).await?;
    let mut ledger = None;
    if !held {
        // The ledger's entries are hashed and bound while the writer inserts the scores, not
        // between its statements: the writer is the one thing every sheet waits for. On this
        // task (the insert runs on the writer's thread once sent), not another thread: what
        // a thread of the blocking pool allocated and the writer's thread freed stayed
        // resident (a 50,000-student demo's RSS +100 MiB). The head read now cannot move:
        // this transaction holds the writer.
        let head = crate::ledger::head(&mut tx).await?;
        let changes = std::mem::take(&mut plan.ledger);
        let actor = get::<String>(&row, "uploaded_by")?;
        let (written, prepared) =
            tokio::join!(write_records(&mut tx, &term, sheet_id, &plan, now), async {
                crate::ledger::prepare_scores(&term, sheet_id, &actor, changes, now, head)
            },);
        written?;
        ledger = Some(prepared?);
        if mode == SheetMode::Replace {
            bind_term(
                sqlx::query(
                    "UPDATE sheets SET status = 'superseded', superseded_by = ?4 \
                     WHERE course_code = ?1 AND session = ?2 AND semester = ?3 \
                     AND status IN ('processed', 'held') AND id < ?4",
                ),
                &term,
            )
            .bind(sheet_id)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        }
    }
    let (new_status, message) = if held {
        let message = match awaiting {
            Some(id) => words::awaiting_approval(id, &plan.changes),
            None => held_message(&plan.changes),
        };
        (SheetStatus::Held, Some(message))
    } else {
        (SheetStatus::Processed, None)
    };
    sqlx::query(
        "UPDATE sheets SET status = ?2, rows_total = ?3, rows_accepted = ?4, rows_rejected = ?5, \
         message = ?7, processed_at_ms = ?6, changes = ?8 WHERE id = ?1",
    )
    .bind(sheet_id)
    .bind(new_status.as_str())
    .bind((accepted.len() + rejected.len()) as i64)
    .bind(accepted.len() as i64)
    .bind(rejected.len() as i64)
    .bind(now)
    .bind(message)
    .bind(serde_json::to_string(&plan.changes).map_err(|e| crate::error::corrupt("changes", e))?)
    .execute(&mut *tx)
    .await
    .map_err(db)?;
    if held {
        tx.commit().await.map_err(db)?;
        return Ok(ApplyOutcome::Held {
            removed: plan.changes.removed,
        });
    }
    let affected = plan.affected;
    crate::results::mark_stale(&mut tx, &affected, now).await?;
    if let Some(prepared) = ledger {
        crate::ledger::insert(&mut tx, prepared).await?;
    }
    if let Some((id, AmendmentStatus::Approved)) = amendment {
        crate::amendments::mark_applied(&mut tx, id, &term, now).await?;
    }
    tx.commit().await.map_err(db)?;
    Ok(ApplyOutcome::Applied { affected })
}

/// What applying a sheet's accepted rows would do to the term's current records.
struct Plan {
    /// (matric, score, version) of every new or changed score.
    writes: Vec<(String, Stored, i64)>,
    /// Students whose current record a replacing sheet leaves off.
    dropped: Vec<String>,
    /// Every student whose current record would change, appear or disappear.
    affected: Vec<MatricNo>,
    changes: SheetChanges,
    /// The same changes as the ledger records them.
    ledger: Vec<ScoreChange>,
}

/// Compares `accepted` with the term's current records: under [`SheetMode::Replace`] the
/// records become exactly `accepted`; under [`SheetMode::AddRows`] nobody is dropped.
async fn plan_records(
    conn: &mut SqliteConnection,
    term: &CourseTerm,
    sheet_id: i64,
    accepted: &[AcceptedRow],
    mode: SheetMode,
) -> PortResult<Plan> {
    // A replacing sheet is compared with the whole list (to find who it leaves off); rows
    // added to it only with the scores of their own students (an empty filter is no filter).
    let only = match mode {
        SheetMode::AddRows => json_list(
            &accepted
                .iter()
                .map(|a| a.matric.as_str())
                .collect::<Vec<_>>(),
        ),
        SheetMode::Replace => String::new(),
    };
    // Two statements, not one with `(?4 = '' OR …)`: the OR would make SQLite scan the term's
    // whole list instead of seeking each of the sheet's students by primary key.
    let filter = match mode {
        SheetMode::AddRows => " AND matric_no IN (SELECT value FROM json_each(?4))",
        SheetMode::Replace => " AND ?4 = ''",
    };
    let sql = format!(
        "SELECT matric_no, ca, exam, total, grade, points FROM score_records \
         WHERE course_code = ?1 AND session = ?2 AND semester = ?3{filter}"
    );
    let rows = bind_term(sqlx::query(&sql), term)
        .bind(&only)
        .fetch_all(&mut *conn)
        .await
        .map_err(db)?;
    let mut current: HashMap<String, Stored> = HashMap::with_capacity(rows.len());
    for r in &rows {
        let stored = Stored {
            ca: get(r, "ca")?,
            exam: get(r, "exam")?,
            total: get(r, "total")?,
            grade: get(r, "grade")?,
            points: get(r, "points")?,
        };
        current.insert(get(r, "matric_no")?, stored);
    }
    // Versions continue from a student's history, also after they were dropped and re-added.
    let sql = format!(
        "SELECT matric_no, MAX(version) AS version FROM score_record_versions \
         WHERE course_code = ?1 AND session = ?2 AND semester = ?3{filter} GROUP BY matric_no"
    );
    let latest: HashMap<String, i64> = bind_term(sqlx::query(&sql), term)
        .bind(&only)
        .fetch_all(&mut *conn)
        .await
        .map_err(db)?
        .iter()
        .map(|r| Ok((get::<String>(r, "matric_no")?, get::<i64>(r, "version")?)))
        .collect::<PortResult<_>>()?;

    // A matric twice on one sheet should have been rejected as a duplicate; if not, the
    // later row wins, as it would for a person reading the sheet top to bottom.
    let mut incoming: HashMap<&str, &AcceptedRow> = HashMap::with_capacity(accepted.len());
    for a in accepted {
        incoming.insert(a.matric.as_str(), a);
    }
    let mut affected: BTreeSet<&str> = BTreeSet::new();
    let mut writes = Vec::new();
    let mut tally = ChangeTally::default();
    let mut ledger = Vec::new();
    for (m, a) in &incoming {
        let new = Stored::of(a);
        match current.get(*m) {
            Some(old) if old == &new => {
                tally.unchanged += 1;
                continue;
            }
            Some(_) => tally.changed.push(m.to_string()),
            None => tally.added += 1,
        }
        let version = latest.get(*m).copied().unwrap_or(0) + 1;
        writes.push((m.to_string(), new.clone(), version));
        ledger.push(ScoreChange::set(m, new, version, sheet_id));
        affected.insert(m);
    }
    let dropped: Vec<String> = match mode {
        SheetMode::AddRows => vec![],
        SheetMode::Replace => current
            .keys()
            .filter(|m| !incoming.contains_key(m.as_str()))
            .cloned()
            .collect(),
    };
    affected.extend(dropped.iter().map(String::as_str));
    ledger.extend(dropped.iter().map(|m| ScoreChange::removed(m)));
    tally.removed.clone_from(&dropped);
    Ok(Plan {
        writes,
        affected: affected
            .into_iter()
            .map(crate::rows::matric)
            .collect::<PortResult<_>>()?,
        dropped,
        changes: tally.finish(),
        ledger,
    })
}

impl ScoreChange {
    fn set(matric: &str, s: Stored, version: i64, sheet_id: i64) -> ScoreChange {
        let body = ScoreBody {
            ca: s.ca,
            exam: s.exam,
            total: s.total,
            grade: s.grade,
            points: s.points,
            version,
            sheet_id,
        };
        ScoreChange {
            matric: matric.to_string(),
            set: Some(body),
        }
    }

    fn removed(matric: &str) -> ScoreChange {
        ScoreChange {
            matric: matric.to_string(),
            set: None,
        }
    }
}

/// Makes the term's current records what `plan` says.
async fn write_records(
    conn: &mut SqliteConnection,
    term: &CourseTerm,
    sheet_id: i64,
    plan: &Plan,
    now: i64,
) -> PortResult<()> {
    let (writes, dropped) = (&plan.writes, &plan.dropped);
    if !writes.is_empty() {
        // Bound values, many rows a statement: no JSON to decode per field.
        for chunk in writes.chunks(ROWS_PER_INSERT) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT INTO score_records (course_code, session, semester, matric_no, ca, exam, \
                 total, grade, points, version, sheet_id, updated_at_ms) ",
            );
            q.push_values(chunk, |mut b, (m, v, version)| {
                b.push_bind(term.course_code.as_str())
                    .push_bind(i64::from(term.session.start_year()))
                    .push_bind(i64::from(term.semester.number()))
                    .push_bind(m.as_str())
                    .push_bind(v.ca)
                    .push_bind(v.exam)
                    .push_bind(v.total)
                    .push_bind(v.grade.as_str())
                    .push_bind(v.points)
                    .push_bind(*version)
                    .push_bind(sheet_id)
                    .push_bind(now);
            });
            q.push(
                " ON CONFLICT (course_code, session, semester, matric_no) DO UPDATE SET \
                 ca = excluded.ca, exam = excluded.exam, total = excluded.total, \
                 grade = excluded.grade, points = excluded.points, version = excluded.version, \
                 sheet_id = excluded.sheet_id, updated_at_ms = excluded.updated_at_ms",
            );
            q.build()
                .execute(&mut *conn)
                .await
                .map_err(|e| unknown_students(db(e)))?;
        }
        // The new versions are the rows just written (sought by key): copied, not decoded again.
        bind_term(
            sqlx::query(
                "INSERT INTO score_record_versions (course_code, session, semester, matric_no, \
                 ca, exam, total, grade, points, version, sheet_id, recorded_at_ms) \
                 SELECT course_code, session, semester, matric_no, ca, exam, total, grade, \
                 points, version, sheet_id, updated_at_ms FROM score_records \
                 WHERE course_code = ?1 AND session = ?2 AND semester = ?3 \
                 AND matric_no IN (SELECT value FROM json_each(?4))",
            ),
            term,
        )
        .bind(json_list(
            &writes
                .iter()
                .map(|(m, _, _)| m.as_str())
                .collect::<Vec<_>>(),
        ))
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    }
    if !dropped.is_empty() {
        bind_term(
            sqlx::query(
                "DELETE FROM score_records WHERE course_code = ?1 AND session = ?2 \
                 AND semester = ?3 AND matric_no IN (SELECT value FROM json_each(?4))",
            ),
            term,
        )
        .bind(json_list(dropped))
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    }
    Ok(())
}

/// Rows of 12 values in one INSERT, within SQLite's 32,766 bound values a statement.
const ROWS_PER_INSERT: usize = 2_500;

fn unknown_students(e: PortError) -> PortError {
    match e {
        PortError::Invalid(_) => {
            PortError::Invalid("the sheet's accepted rows name a student who does not exist".into())
        }
        other => other,
    }
}

async fn write_row_errors(
    conn: &mut SqliteConnection,
    sheet_id: i64,
    rejected: &[RowError],
) -> PortResult<()> {
    if rejected.is_empty() {
        return Ok(());
    }
    let rows: Vec<serde_json::Value> = rejected
        .iter()
        .map(|e| json!([e.row, e.matric, kind_str(e.kind), e.message]))
        .collect();
    sqlx::query(
        "INSERT INTO sheet_row_errors (sheet_id, row, matric, kind, message) \
         SELECT ?1, value->>0, value->>1, value->>2, value->>3 FROM json_each(?2)",
    )
    .bind(sheet_id)
    .bind(json_list(&rows))
    .execute(&mut *conn)
    .await
    .map(|_| ())
    .map_err(db)
}
