//! The ledger in PostgreSQL: entries appended inside the caller's transaction, in one
//! statement over arrays (`UNNEST`), and the [`Ledger`] port's reads and signatures.
//!
//! Appenders are serialised by a transaction-scoped advisory lock taken just before the head
//! is read, as the last step of the transaction (so it is held only until the commit right
//! after, and always after any term lock: no deadlock). Under READ COMMITTED the head read
//! after the lock sees the previous holder's committed entries, so two transactions can never
//! both append after the same head; the primary key on seq is the backstop. It must never
//! append outside the transaction of the change it records, and never rewrite an entry.

use crate::convert::get;
use crate::error::db;
use crate::PgStore;
use async_trait::async_trait;
use eportal_core::ledger::{
    chain, Draft, Entry, HeadSignature, ScoreBody, ScoreRemovedBody, Subject,
};
use eportal_core::sheet::AcceptedRow;
use eportal_ports::error::PortResult;
use eportal_ports::Ledger;
use sqlx::postgres::PgRow;
use sqlx::PgConnection;

/// The advisory lock key of the ledger's head ("ledger" in ASCII).
const LEDGER_LOCK: i64 = 0x6c65_6467_6572;

pub(crate) fn subject(code: &str, session: i32, semester: i32, matric: Option<&str>) -> Subject {
    Subject {
        course_code: code.to_string(),
        session: i64::from(session),
        semester: i64::from(semester),
        matric_no: matric.map(str::to_string),
    }
}

/// Appends one entry per score a sheet set (with its new version) or removed, by matric
/// number; the actor is the sheet's uploader.
pub(crate) async fn append_scores(
    conn: &mut PgConnection,
    (code, session, semester): (&str, i32, i32),
    sheet_id: i64,
    set: &[(&AcceptedRow, i32)],
    removed: &[String],
    now: i64,
) -> PortResult<()> {
    if set.is_empty() && removed.is_empty() {
        return Ok(());
    }
    let actor: String = sqlx::query_scalar("SELECT uploaded_by FROM sheets WHERE id = $1")
        .bind(sheet_id)
        .fetch_one(&mut *conn)
        .await
        .map_err(db)?;
    let mut drafts: Vec<(&str, Draft)> = set
        .iter()
        .map(|(r, version)| {
            let body = ScoreBody {
                ca: i64::from(r.ca.tenths()),
                exam: i64::from(r.exam.tenths()),
                total: i64::from(r.total.tenths()),
                grade: r.grade.clone(),
                points: i64::from(r.points),
                version: i64::from(*version),
                sheet_id,
            };
            let m = r.matric.as_str();
            let s = subject(code, session, semester, Some(m));
            (m, Draft::score(now, &actor, s, &body))
        })
        .collect();
    drafts.extend(removed.iter().map(|m| {
        let s = subject(code, session, semester, Some(m));
        let body = ScoreRemovedBody { sheet_id };
        (m.as_str(), Draft::score_removed(now, &actor, s, &body))
    }));
    drafts.sort_by(|a, b| a.0.cmp(b.0));
    append(conn, drafts.into_iter().map(|(_, d)| d).collect()).await
}

/// Chains `drafts` after the current head and inserts them, in the caller's transaction.
pub(crate) async fn append(conn: &mut PgConnection, drafts: Vec<Draft>) -> PortResult<()> {
    if drafts.is_empty() {
        return Ok(());
    }
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(LEDGER_LOCK)
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    let head: Option<(i64, String)> =
        sqlx::query_as("SELECT seq, hash FROM ledger ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&mut *conn)
            .await
            .map_err(db)?;
    let entries = chain(head.as_ref().map(|(s, h)| (*s, h.as_str())), drafts);
    let col = |f: fn(&Entry) -> String| entries.iter().map(f).collect::<Vec<String>>();
    let seq: Vec<i64> = entries.iter().map(|e| e.seq).collect();
    let at: Vec<i64> = entries.iter().map(|e| e.at_ms).collect();
    let session: Vec<i32> = entries.iter().map(|e| e.subject.session as i32).collect();
    let semester: Vec<i32> = entries.iter().map(|e| e.subject.semester as i32).collect();
    let matric: Vec<Option<String>> = entries
        .iter()
        .map(|e| e.subject.matric_no.clone())
        .collect();
    sqlx::query(
        "INSERT INTO ledger (seq, at_ms, actor, kind, course_code, session, semester, \
         matric_no, body, prev_hash, hash) \
         SELECT * FROM UNNEST($1::int8[], $2::int8[], $3::text[], $4::text[], $5::text[], \
         $6::int4[], $7::int4[], $8::text[], $9::text[], $10::text[], $11::text[])",
    )
    .bind(seq)
    .bind(at)
    .bind(col(|e| e.actor.clone()))
    .bind(col(|e| e.kind.clone()))
    .bind(col(|e| e.subject.course_code.clone()))
    .bind(session)
    .bind(semester)
    .bind(matric)
    .bind(col(|e| e.body.clone()))
    .bind(col(|e| e.prev_hash.clone()))
    .bind(col(|e| e.hash.clone()))
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    Ok(())
}

fn entry_of(r: &PgRow) -> PortResult<Entry> {
    Ok(Entry {
        seq: get(r, "seq")?,
        at_ms: get(r, "at_ms")?,
        actor: get(r, "actor")?,
        kind: get(r, "kind")?,
        subject: Subject {
            course_code: get(r, "course_code")?,
            session: i64::from(get::<i32>(r, "session")?),
            semester: i64::from(get::<i32>(r, "semester")?),
            matric_no: get(r, "matric_no")?,
        },
        body: get(r, "body")?,
        prev_hash: get(r, "prev_hash")?,
        hash: get(r, "hash")?,
    })
}

fn signature_of(r: &PgRow) -> PortResult<HeadSignature> {
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
impl Ledger for PgStore {
    async fn ledger_entries(&self, after: i64, limit: u32) -> PortResult<Vec<Entry>> {
        let rows = sqlx::query(
            "SELECT seq, at_ms, actor, kind, course_code, session, semester, matric_no, body, \
             prev_hash, hash FROM ledger WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.iter().map(entry_of).collect()
    }

    async fn ledger_head(&self) -> PortResult<Option<(i64, String)>> {
        sqlx::query_as("SELECT seq, hash FROM ledger ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&self.pool)
            .await
            .map_err(db)
    }

    async fn ledger_signatures(&self) -> PortResult<Vec<HeadSignature>> {
        let sql = format!("SELECT {SIGNATURE_COLUMNS} FROM ledger_signatures ORDER BY seq");
        let rows = sqlx::query(&sql).fetch_all(&self.pool).await.map_err(db)?;
        rows.iter().map(signature_of).collect()
    }

    async fn last_ledger_signature(&self) -> PortResult<Option<HeadSignature>> {
        let sql =
            format!("SELECT {SIGNATURE_COLUMNS} FROM ledger_signatures ORDER BY seq DESC LIMIT 1");
        let row = sqlx::query(&sql)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?;
        row.as_ref().map(signature_of).transpose()
    }

    async fn add_ledger_signature(&self, s: &HeadSignature) -> PortResult<bool> {
        let sql = format!(
            "INSERT INTO ledger_signatures ({SIGNATURE_COLUMNS}) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (seq) DO NOTHING"
        );
        let done = sqlx::query(&sql)
            .bind(s.seq)
            .bind(&s.hash)
            .bind(&s.signature)
            .bind(&s.key_id)
            .bind(s.signed_at_ms)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(done.rows_affected() == 1)
    }
}
