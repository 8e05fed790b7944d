//! The ledger in SQLite: entries appended inside the caller's write transaction (SQLite has
//! one writer, and `BEGIN IMMEDIATE` takes its lock up front, so the head read here cannot
//! move before the commit), many bound rows a statement; and the [`Ledger`] port's
//! reads and signatures. It must never append outside the transaction of the change it
//! records, and never rewrite an entry.

use crate::error::db;
use crate::rows::get;
use crate::SqliteStore;
use async_trait::async_trait;
use eportal_core::ledger::{
    chain, Draft, Entry, HeadSignature, ScoreBody, ScoreRemovedBody, Subject,
};
use eportal_core::model::CourseTerm;
use eportal_ports::error::PortResult;
use eportal_ports::Ledger;
use sqlx::sqlite::{SqliteArguments, SqliteRow};
use sqlx::{Arguments, SqliteConnection};

/// A student's current score as a sheet left it: set to new values, or removed.
pub(crate) struct ScoreChange {
    pub matric: String,
    /// `None`: the student was left off the sheet and lost their current score.
    pub set: Option<ScoreBody>,
}

pub(crate) fn subject(term: &CourseTerm, matric: Option<&str>) -> Subject {
    Subject {
        course_code: term.course_code.as_str().to_string(),
        session: i64::from(term.session.start_year()),
        semester: i64::from(term.semester.number()),
        matric_no: matric.map(str::to_string),
    }
}

/// A sheet's score entries, chained after the head and bound, ready to insert: made while
/// the writer runs the sheet's other statements (see `apply`).
pub(crate) struct Prepared(Vec<(String, SqliteArguments<'static>)>);

/// The chain's head: the last entry's seq and hash, `None` for an empty ledger.
pub(crate) async fn head(conn: &mut SqliteConnection) -> PortResult<Option<(i64, String)>> {
    sqlx::query_as("SELECT seq, hash FROM ledger ORDER BY seq DESC LIMIT 1")
        .fetch_optional(&mut *conn)
        .await
        .map_err(db)
}

/// One entry per changed score of a sheet, by matric number, chained after `head` (read in
/// the transaction that inserts them); the actor is the sheet's uploader.
pub(crate) fn prepare_scores(
    term: &CourseTerm,
    sheet_id: i64,
    actor: &str,
    mut changes: Vec<ScoreChange>,
    now: i64,
    head: Option<(i64, String)>,
) -> PortResult<Prepared> {
    changes.sort_by(|a, b| a.matric.cmp(&b.matric));
    let drafts = changes
        .into_iter()
        .map(|c| {
            let s = subject(term, Some(&c.matric));
            match c.set {
                Some(body) => Draft::score(now, actor, s, &body),
                None => Draft::score_removed(now, actor, s, &ScoreRemovedBody { sheet_id }),
            }
        })
        .collect();
    bind(chain(head.as_ref().map(|(s, h)| (*s, h.as_str())), drafts))
}

/// Inserts what [`prepare_scores`] made, in the caller's transaction (the one it read the
/// head in).
pub(crate) async fn insert(conn: &mut SqliteConnection, prepared: Prepared) -> PortResult<()> {
    for (sql, args) in prepared.0 {
        sqlx::query_with(&sql, args)
            .execute(&mut *conn)
            .await
            .map_err(db)?;
    }
    Ok(())
}

/// Chains `drafts` after the current head and inserts them, in the caller's transaction.
pub(crate) async fn append(conn: &mut SqliteConnection, drafts: Vec<Draft>) -> PortResult<()> {
    if drafts.is_empty() {
        return Ok(());
    }
    let head = head(conn).await?;
    let entries = chain(head.as_ref().map(|(s, h)| (*s, h.as_str())), drafts);
    insert(conn, bind(entries)?).await
}

/// Bound values, many rows a statement (no JSON to decode per field); the entries' strings
/// move into the arguments uncopied.
fn bind(entries: Vec<Entry>) -> PortResult<Prepared> {
    let mut out = Vec::new();
    let mut entries = entries.into_iter().peekable();
    while entries.peek().is_some() {
        let mut sql = String::from(
            "INSERT INTO ledger (seq, at_ms, actor, kind, course_code, session, semester, \
             matric_no, body, prev_hash, hash) VALUES ",
        );
        let mut args = SqliteArguments::default();
        for (i, e) in entries.by_ref().take(ROWS_PER_INSERT).enumerate() {
            sql.push_str(if i == 0 { "(" } else { ", (" });
            sql.push_str("?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
            let s = e.subject;
            let added = (|| {
                args.add(e.seq)?;
                args.add(e.at_ms)?;
                args.add(e.actor)?;
                args.add(e.kind)?;
                args.add(s.course_code)?;
                args.add(s.session)?;
                args.add(s.semester)?;
                args.add(s.matric_no)?;
                args.add(e.body)?;
                args.add(e.prev_hash)?;
                args.add(e.hash)
            })();
            added.map_err(|e| crate::error::corrupt("ledger entry", e))?;
        }
        out.push((sql, args));
    }
    Ok(Prepared(out))
}

/// Rows of 11 values in one INSERT, within SQLite's 32,766 bound values a statement.
const ROWS_PER_INSERT: usize = 2_500;

fn entry_of(r: &SqliteRow) -> PortResult<Entry> {
    Ok(Entry {
        seq: get(r, "seq")?,
        at_ms: get(r, "at_ms")?,
        actor: get(r, "actor")?,
        kind: get(r, "kind")?,
        subject: Subject {
            course_code: get(r, "course_code")?,
            session: get(r, "session")?,
            semester: get(r, "semester")?,
            matric_no: get(r, "matric_no")?,
        },
        body: get(r, "body")?,
        prev_hash: get(r, "prev_hash")?,
        hash: get(r, "hash")?,
    })
}

fn signature_of(r: &SqliteRow) -> PortResult<HeadSignature> {
    Ok(HeadSignature {
        seq: get(r, "seq")?,
        hash: get(r, "hash")?,
        signature: get(r, "signature")?,
        key_id: get(r, "key_id")?,
        signed_at_ms: get(r, "signed_at_ms")?,
    })
}

const SIGNATURE_COLUMNS: &str = "seq, hash, signature, key_id, signed_at_ms";

#[async_trait]
impl Ledger for SqliteStore {
    async fn ledger_entries(&self, after: i64, limit: u32) -> PortResult<Vec<Entry>> {
        let rows = sqlx::query(
            "SELECT seq, at_ms, actor, kind, course_code, session, semester, matric_no, body, \
             prev_hash, hash FROM ledger WHERE seq > ?1 ORDER BY seq LIMIT ?2",
        )
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await
        .map_err(db)?;
        rows.iter().map(entry_of).collect()
    }

    async fn ledger_head(&self) -> PortResult<Option<(i64, String)>> {
        sqlx::query_as("SELECT seq, hash FROM ledger ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&self.read)
            .await
            .map_err(db)
    }

    async fn ledger_signatures(&self) -> PortResult<Vec<HeadSignature>> {
        let sql = format!("SELECT {SIGNATURE_COLUMNS} FROM ledger_signatures ORDER BY seq");
        let rows = sqlx::query(&sql).fetch_all(&self.read).await.map_err(db)?;
        rows.iter().map(signature_of).collect()
    }

    async fn last_ledger_signature(&self) -> PortResult<Option<HeadSignature>> {
        let sql =
            format!("SELECT {SIGNATURE_COLUMNS} FROM ledger_signatures ORDER BY seq DESC LIMIT 1");
        let row = sqlx::query(&sql)
            .fetch_optional(&self.read)
            .await
            .map_err(db)?;
        row.as_ref().map(signature_of).transpose()
    }

    async fn add_ledger_signature(&self, s: &HeadSignature) -> PortResult<bool> {
        let sql = format!(
            "INSERT INTO ledger_signatures ({SIGNATURE_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5) \
             ON CONFLICT (seq) DO NOTHING"
        );
        let done = sqlx::query(&sql)
            .bind(s.seq)
            .bind(&s.hash)
            .bind(&s.signature)
            .bind(&s.key_id)
            .bind(s.signed_at_ms)
            .execute(&self.write)
            .await
            .map_err(db)?;
        Ok(done.rows_affected() == 1)
    }
}
