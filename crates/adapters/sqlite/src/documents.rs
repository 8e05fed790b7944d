//! Issued documents (transcripts, result slips) in SQLite: one row per verification code,
//! written once, revoked at most once (`… WHERE revoked_at_ms IS NULL`, so the first
//! revocation stands). It never judges whether a document is still current.

use crate::error::{corrupt, db};
use crate::rows::{get, matric, semester, session};
use crate::SqliteStore;
use async_trait::async_trait;
use eportal_ports::documents::{DocumentKind, Documents, IssuedDocument, Revocation};
use eportal_ports::error::PortResult;
use eportal_ports::PortError;
use sqlx::sqlite::SqliteRow;

const COLUMNS: &str = "code, kind, session, semester, matric_no, issued_by, issued_at_ms, \
     content, content_sha256, revoked_at_ms, revoked_by, revoke_reason";

fn document(row: &SqliteRow) -> PortResult<IssuedDocument> {
    let kind = match get::<String>(row, "kind")?.as_str() {
        "transcript" => DocumentKind::Transcript,
        "slip" => DocumentKind::Slip {
            session: session(get::<Option<i64>>(row, "session")?.unwrap_or(0))?,
            semester: semester(get::<Option<i64>>(row, "semester")?.unwrap_or(0))?,
        },
        other => return Err(corrupt("document kind", other)),
    };
    let revoked = match get::<Option<i64>>(row, "revoked_at_ms")? {
        Some(at_ms) => Some(Revocation {
            at_ms,
            by: get::<Option<String>>(row, "revoked_by")?.unwrap_or_default(),
            reason: get::<Option<String>>(row, "revoke_reason")?.unwrap_or_default(),
        }),
        None => None,
    };
    Ok(IssuedDocument {
        code: get(row, "code")?,
        kind,
        matric_no: matric(&get::<String>(row, "matric_no")?)?,
        issued_by: get(row, "issued_by")?,
        issued_at_ms: get(row, "issued_at_ms")?,
        content: get(row, "content")?,
        content_sha256: get(row, "content_sha256")?,
        revoked,
    })
}

#[async_trait]
impl Documents for SqliteStore {
    async fn record_document(&self, d: &IssuedDocument) -> PortResult<()> {
        let (session, semester) = match d.kind {
            DocumentKind::Transcript => (None, None),
            DocumentKind::Slip { session, semester } => (
                Some(i64::from(session.start_year())),
                Some(i64::from(semester.number())),
            ),
        };
        sqlx::query(&format!(
            "INSERT INTO documents ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
        ))
        .bind(&d.code)
        .bind(d.kind.as_str())
        .bind(session)
        .bind(semester)
        .bind(d.matric_no.as_str())
        .bind(&d.issued_by)
        .bind(d.issued_at_ms)
        .bind(&d.content)
        .bind(&d.content_sha256)
        .bind(d.revoked.as_ref().map(|r| r.at_ms))
        .bind(d.revoked.as_ref().map(|r| r.by.as_str()))
        .bind(d.revoked.as_ref().map(|r| r.reason.as_str()))
        .execute(&self.write)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn document(&self, code: &str) -> PortResult<Option<IssuedDocument>> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM documents WHERE code = ?1"))
            .bind(code)
            .fetch_optional(&self.read)
            .await
            .map_err(db)?;
        row.as_ref().map(document).transpose()
    }

    async fn revoke_document(&self, code: &str, r: &Revocation) -> PortResult<IssuedDocument> {
        let row = sqlx::query(&format!(
            "UPDATE documents SET revoked_at_ms = COALESCE(revoked_at_ms, ?2), \
             revoked_by = CASE WHEN revoked_at_ms IS NULL THEN ?3 ELSE revoked_by END, \
             revoke_reason = CASE WHEN revoked_at_ms IS NULL THEN ?4 ELSE revoke_reason END \
             WHERE code = ?1 RETURNING {COLUMNS}"
        ))
        .bind(code)
        .bind(r.at_ms)
        .bind(&r.by)
        .bind(&r.reason)
        .fetch_optional(&self.write)
        .await
        .map_err(db)?;
        match row {
            Some(row) => document(&row),
            None => Err(PortError::NotFound(format!("document {code}"))),
        }
    }
}
