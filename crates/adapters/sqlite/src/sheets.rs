//! Score-sheet submissions and their reports. `submit_sheet` writes the sheet and its job in
//! one transaction: the `jobs` table is this deployment's queue *and* its outbox, so there is
//! nothing to relay and `outbox_pending` is always empty. Applying a decision is `apply.rs`.

use crate::error::db;
use crate::rows::{get, small, term_of};
use crate::{SqliteStore, DEFAULT_QUEUE};
use async_trait::async_trait;
use eportal_core::discipline::JobMeta;
use eportal_core::jobs::{Envelope, Job};
use eportal_core::model::CourseTerm;
use eportal_core::sheet::{RowError, RowErrorKind};
use eportal_core::PolicyBook;
use eportal_ports::error::PortResult;
use eportal_ports::{
    now_ms, ApplyOutcome, NewSheet, PortError, SheetMode, SheetOutcome, SheetReport, SheetStatus,
    SheetSummary, Sheets,
};
use sqlx::sqlite::SqliteRow;
use sqlx::SqliteConnection;

pub(crate) const SHEET_COLUMNS: &str = "id, course_code, session, semester, sha256, size_bytes, \
     filename, uploaded_by, uploaded_at_ms, status, rows_total, rows_accepted, rows_rejected, \
     message, processed_at_ms, superseded_by, mode, removals_confirmed, changes";

pub(crate) fn status(s: &str) -> PortResult<SheetStatus> {
    SheetStatus::parse(s).ok_or_else(|| crate::error::corrupt("sheet status", s))
}

pub(crate) fn mode(s: &str) -> PortResult<SheetMode> {
    SheetMode::parse(s).ok_or_else(|| crate::error::corrupt("sheet mode", s))
}

fn summary_of(row: &SqliteRow) -> PortResult<SheetSummary> {
    Ok(SheetSummary {
        id: get(row, "id")?,
        term: term_of(row)?,
        sha256: get(row, "sha256")?,
        size_bytes: small("size_bytes", get(row, "size_bytes")?)?,
        filename: get(row, "filename")?,
        uploaded_by: get(row, "uploaded_by")?,
        uploaded_at_ms: get(row, "uploaded_at_ms")?,
        status: status(&get::<String>(row, "status")?)?,
        rows_total: small("rows_total", get(row, "rows_total")?)?,
        rows_accepted: small("rows_accepted", get(row, "rows_accepted")?)?,
        rows_rejected: small("rows_rejected", get(row, "rows_rejected")?)?,
        message: get(row, "message")?,
        processed_at_ms: get(row, "processed_at_ms")?,
        superseded_by: get(row, "superseded_by")?,
        mode: mode(&get::<String>(row, "mode")?)?,
        removals_confirmed: get::<i64>(row, "removals_confirmed")? != 0,
        changes: get::<Option<String>>(row, "changes")?
            .map(|c| serde_json::from_str(&c).map_err(|e| crate::error::corrupt("changes", e)))
            .transpose()?,
    })
}

pub(crate) fn kind_str(kind: RowErrorKind) -> String {
    match serde_json::to_value(kind) {
        Ok(serde_json::Value::String(s)) => s,
        _ => format!("{kind:?}"),
    }
}

fn kind_of(s: String) -> PortResult<RowErrorKind> {
    serde_json::from_value(serde_json::Value::String(s))
        .map_err(|e| crate::error::corrupt("row error kind", e))
}

/// The sheet of these bytes for the term in this mode that is not superseded, if any.
async fn find(conn: &mut SqliteConnection, sheet: &NewSheet) -> PortResult<Option<SheetSummary>> {
    let sql = format!(
        "SELECT {SHEET_COLUMNS} FROM sheets WHERE course_code = ?1 AND session = ?2 \
         AND semester = ?3 AND sha256 = ?4 AND mode = ?5 AND status <> 'superseded'"
    );
    let row = sqlx::query(&sql)
        .bind(sheet.term.course_code.as_str())
        .bind(sheet.term.session.start_year() as i64)
        .bind(sheet.term.semester.number() as i64)
        .bind(&sheet.sha256)
        .bind(sheet.mode.as_str())
        .fetch_optional(&mut *conn)
        .await
        .map_err(db)?;
    row.as_ref().map(summary_of).transpose()
}

pub(crate) async fn by_id(conn: &mut SqliteConnection, id: i64) -> PortResult<SheetSummary> {
    let sql = format!("SELECT {SHEET_COLUMNS} FROM sheets WHERE id = ?1");
    let row = sqlx::query(&sql)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db)?
        .ok_or_else(|| PortError::NotFound(format!("sheet {id}")))?;
    summary_of(&row)
}

/// Inserts a queued sheet and its processing job, in the caller's transaction.
/// Its job carries the row estimate and the course's department, for the queue's discipline.
pub(crate) async fn insert_sheet(
    conn: &mut SqliteConnection,
    sheet: &NewSheet,
    department: &str,
    now: i64,
    request_id: Option<&str>,
) -> PortResult<i64> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO sheets (course_code, session, semester, sha256, size_bytes, filename, \
         uploaded_by, uploaded_at_ms, status, mode) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'queued', ?9) RETURNING id",
    )
    .bind(sheet.term.course_code.as_str())
    .bind(sheet.term.session.start_year() as i64)
    .bind(sheet.term.semester.number() as i64)
    .bind(&sheet.sha256)
    .bind(i64::try_from(sheet.size_bytes).unwrap_or(i64::MAX))
    .bind(&sheet.filename)
    .bind(&sheet.uploaded_by)
    .bind(now)
    .bind(sheet.mode.as_str())
    .fetch_one(&mut *conn)
    .await
    .map_err(db)?;
    let envelope = Envelope::new(
        Job::ProcessSheet { sheet_id: id },
        request_id.map(str::to_string),
    )
    .with_meta(JobMeta {
        rows: sheet.rows_estimate,
        class: Some(department.to_string()),
        background: false,
    });
    crate::queue::insert_job(&mut *conn, DEFAULT_QUEUE, &envelope, now).await?;
    Ok(id)
}

/// Queues a held sheet again, with a new processing job, in the caller's transaction: it
/// is judged again from its file and applied, removals (or the amendment's scores) and all.
pub(crate) async fn requeue(
    conn: &mut SqliteConnection,
    sheet_id: i64,
    request_id: Option<&str>,
) -> PortResult<()> {
    // Judged again from the file when its job runs: the row errors are written anew.
    sqlx::query("DELETE FROM sheet_row_errors WHERE sheet_id = ?1")
        .bind(sheet_id)
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    sqlx::query(
        "UPDATE sheets SET status = 'queued', removals_confirmed = 1, message = NULL \
         WHERE id = ?1",
    )
    .bind(sheet_id)
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    // The held sheet was judged: its row count is known.
    let found = by_id(conn, sheet_id).await?;
    let department = department_of(conn, found.term.course_code.as_str()).await?;
    let envelope = Envelope::new(
        Job::ProcessSheet { sheet_id },
        request_id.map(str::to_string),
    )
    .with_meta(JobMeta {
        rows: Some(found.rows_total),
        class: department,
        background: false,
    });
    crate::queue::insert_job(&mut *conn, DEFAULT_QUEUE, &envelope, now_ms()).await?;
    Ok(())
}

#[async_trait]
impl Sheets for SqliteStore {
    async fn submit_sheet(
        &self,
        sheet: &NewSheet,
        request_id: Option<&str>,
    ) -> PortResult<(SheetSummary, bool)> {
        let mut tx = self.begin().await?;
        if let Some(existing) = find(&mut tx, sheet).await? {
            return Ok((existing, false));
        }
        let department = department_of(&mut tx, sheet.term.course_code.as_str()).await?;
        let Some(department) = department else {
            return Err(PortError::Invalid(format!(
                "course {} does not exist",
                sheet.term.course_code
            )));
        };
        let id = insert_sheet(&mut tx, sheet, &department, now_ms(), request_id).await?;
        let summary = by_id(&mut tx, id).await?;
        tx.commit().await.map_err(db)?;
        Ok((summary, true))
    }

    async fn confirm_sheet(
        &self,
        sheet_id: i64,
        request_id: Option<&str>,
    ) -> PortResult<SheetSummary> {
        let mut tx = self.begin().await?;
        let found = by_id(&mut tx, sheet_id).await?;
        if found.status != SheetStatus::Held {
            return Err(PortError::Conflict(format!(
                "sheet {sheet_id} is {}, not held for confirmation",
                found.status.as_str()
            )));
        }
        requeue(&mut tx, sheet_id, request_id).await?;
        let summary = by_id(&mut tx, sheet_id).await?;
        tx.commit().await.map_err(db)?;
        Ok(summary)
    }

    async fn sheet(&self, id: i64) -> PortResult<Option<SheetReport>> {
        let sql = format!("SELECT {SHEET_COLUMNS} FROM sheets WHERE id = ?1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.read)
            .await
            .map_err(db)?;
        let Some(row) = row else { return Ok(None) };
        let errors = sqlx::query(
            "SELECT row, matric, kind, message FROM sheet_row_errors \
             WHERE sheet_id = ?1 ORDER BY row, id",
        )
        .bind(id)
        .fetch_all(&self.read)
        .await
        .map_err(db)?;
        let row_errors = errors
            .iter()
            .map(|r| {
                Ok(RowError {
                    row: small("row", get(r, "row")?)?,
                    matric: get(r, "matric")?,
                    kind: kind_of(get(r, "kind")?)?,
                    message: get(r, "message")?,
                })
            })
            .collect::<PortResult<Vec<_>>>()?;
        Ok(Some(SheetReport {
            sheet: summary_of(&row)?,
            row_errors,
        }))
    }

    async fn sheets_for(&self, term: &CourseTerm) -> PortResult<Vec<SheetSummary>> {
        let sql = format!(
            "SELECT {SHEET_COLUMNS} FROM sheets \
             WHERE course_code = ?1 AND session = ?2 AND semester = ?3 ORDER BY id DESC"
        );
        let rows = sqlx::query(&sql)
            .bind(term.course_code.as_str())
            .bind(term.session.start_year() as i64)
            .bind(term.semester.number() as i64)
            .fetch_all(&self.read)
            .await
            .map_err(db)?;
        rows.iter().map(summary_of).collect()
    }

    async fn all_sheets(
        &self,
        status: Option<SheetStatus>,
        limit: u32,
        offset: u32,
    ) -> PortResult<(Vec<SheetSummary>, u64)> {
        let status = status.map(SheetStatus::as_str);
        let sql = format!(
            "SELECT {SHEET_COLUMNS} FROM sheets WHERE (?1 IS NULL OR status = ?1) \
             ORDER BY id DESC LIMIT ?2 OFFSET ?3"
        );
        let rows = sqlx::query(&sql)
            .bind(status)
            .bind(i64::from(limit))
            .bind(i64::from(offset))
            .fetch_all(&self.read)
            .await
            .map_err(db)?;
        let total: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM sheets WHERE (?1 IS NULL OR status = ?1)")
                .bind(status)
                .fetch_one(&self.read)
                .await
                .map_err(db)?;
        let page = rows
            .iter()
            .map(summary_of)
            .collect::<PortResult<Vec<_>>>()?;
        Ok((page, total as u64))
    }

    async fn note_retry(&self, sheet_id: i64, error: &str) -> PortResult<()> {
        sqlx::query(
            "INSERT INTO sheet_retries (sheet_id, retries, last_error) VALUES (?1, 1, ?2) \
             ON CONFLICT (sheet_id) DO UPDATE SET retries = sheet_retries.retries + 1, \
             last_error = excluded.last_error",
        )
        .bind(sheet_id)
        .bind(error)
        .execute(&self.write)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn sheet_retries(&self, ids: &[i64]) -> PortResult<Vec<(i64, u32, String)>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<(i64, i64, String)> = sqlx::query_as(
            "SELECT sheet_id, retries, last_error FROM sheet_retries \
             WHERE sheet_id IN (SELECT value FROM json_each(?1)) ORDER BY sheet_id",
        )
        .bind(
            serde_json::to_string(ids)
                .map_err(|e| eportal_ports::PortError::Invalid(e.to_string()))?,
        )
        .fetch_all(&self.read)
        .await
        .map_err(db)?;
        Ok(rows
            .into_iter()
            .map(|(id, n, e)| (id, u32::try_from(n).unwrap_or(u32::MAX), e))
            .collect())
    }

    async fn apply_sheet(
        &self,
        sheet_id: i64,
        outcome: &SheetOutcome,
        book: &PolicyBook,
    ) -> PortResult<ApplyOutcome> {
        crate::apply::apply_sheet(self, sheet_id, outcome, book).await
    }

    async fn fail_sheet(&self, sheet_id: i64, message: &str) -> PortResult<()> {
        // Only a sheet still waiting can fail: a final sheet's outcome stands.
        let found: Option<String> = sqlx::query_scalar("SELECT status FROM sheets WHERE id = ?1")
            .bind(sheet_id)
            .fetch_optional(&self.write)
            .await
            .map_err(db)?;
        if found.is_none() {
            return Err(PortError::NotFound(format!("sheet {sheet_id}")));
        }
        sqlx::query(
            "UPDATE sheets SET status = 'failed', message = ?2, processed_at_ms = ?3 \
             WHERE id = ?1 AND status = 'queued'",
        )
        .bind(sheet_id)
        .bind(message)
        .bind(now_ms())
        .execute(&self.write)
        .await
        .map(|_| ())
        .map_err(db)
    }

    /// Always empty: submitted jobs are written straight into the `jobs` table, which is
    /// this deployment's queue, in the sheet's own transaction.
    async fn outbox_pending(&self, _limit: u32) -> PortResult<Vec<(i64, Envelope)>> {
        Ok(Vec::new())
    }

    /// Nothing to mark: see [`Sheets::outbox_pending`].
    async fn outbox_done(&self, _ids: &[i64]) -> PortResult<()> {
        Ok(())
    }
}

/// The department of a course (the class round-robin serves in turn); `None` if no such course.
pub(crate) async fn department_of(
    conn: &mut sqlx::SqliteConnection,
    course_code: &str,
) -> PortResult<Option<String>> {
    sqlx::query_scalar("SELECT department_code FROM courses WHERE code = ?1")
        .bind(course_code)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db)
}
