//! Uploaded score sheets: recording an upload together with its processing job, reading
//! sheets and their row errors back, and the outbox a relay drains. Applying a worker's
//! decision lives in `apply`.
//!
//! Must never record a sheet without its job, or a job without its sheet: both are written
//! in one transaction.

use crate::convert::{self, term_key, SHEET_COLUMNS};
use crate::error::db;
use crate::{apply, outbox, PgStore};
use async_trait::async_trait;
use eportal_core::discipline::JobMeta;
use eportal_core::jobs::{Envelope, Job};
use eportal_core::model::CourseTerm;
use eportal_core::PolicyBook;
use eportal_ports::error::PortResult;
use eportal_ports::{
    now_ms, ApplyOutcome, NewSheet, PortError, SheetOutcome, SheetReport, SheetSummary, Sheets,
};
use sqlx::PgConnection;

/// Queues a held sheet again, with a new processing job, in the caller's transaction: it
/// is judged again from its file and applied, removals (or the amendment's scores) and all.
/// [`PortError::Conflict`] when the sheet is not held.
pub(crate) async fn requeue(
    conn: &mut PgConnection,
    sheet_id: i64,
    request_id: Option<&str>,
) -> PortResult<SheetSummary> {
    let sql = format!(
        "UPDATE sheets SET status = 'queued', removals_confirmed = TRUE, message = NULL \
         WHERE id = $1 AND status = 'held' RETURNING {SHEET_COLUMNS}"
    );
    let updated = sqlx::query(&sql)
        .bind(sheet_id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db)?;
    let Some(row) = updated else {
        let found: Option<String> = sqlx::query_scalar("SELECT status FROM sheets WHERE id = $1")
            .bind(sheet_id)
            .fetch_optional(&mut *conn)
            .await
            .map_err(db)?;
        return Err(match found {
            None => PortError::NotFound(format!("sheet {sheet_id}")),
            Some(status) => PortError::Conflict(format!(
                "sheet {sheet_id} is {status}, not held for confirmation"
            )),
        });
    };
    // Judged again from the file when its job runs: the row errors are written anew.
    sqlx::query("DELETE FROM row_errors WHERE sheet_id = $1")
        .bind(sheet_id)
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    let summary = convert::sheet_summary(&row)?;
    // The held sheet was judged: its row count is known.
    let course = summary.term.course_code.as_str().to_string();
    let job = Envelope::new(
        Job::ProcessSheet { sheet_id },
        request_id.map(str::to_string),
    )
    .with_meta(JobMeta {
        rows: Some(summary.rows_total),
        class: outbox::department_of(&mut *conn, &course).await?,
        background: false,
    });
    outbox::enqueue(&mut *conn, &job).await?;
    Ok(summary)
}

#[async_trait]
impl Sheets for PgStore {
    async fn submit_sheet(
        &self,
        sheet: &NewSheet,
        request_id: Option<&str>,
    ) -> PortResult<(SheetSummary, bool)> {
        let (code, session, semester) = term_key(&sheet.term);
        let size = i64::try_from(sheet.size_bytes).map_err(|_| {
            PortError::Invalid(format!("sheet of {} bytes is too large", sheet.size_bytes))
        })?;
        let mut tx = self.pool.begin().await.map_err(db)?;
        // DO NOTHING rather than an error: when another portal is inserting the same bytes at
        // this moment, this statement waits for it, and the sheet it wrote is the answer.
        // A superseded sheet of the same bytes does not conflict: uploading an earlier file
        // again makes it a new sheet, which becomes current when processed.
        let sql = format!(
            "INSERT INTO sheets (course_code, session, semester, sha256, size_bytes, filename, \
             uploaded_by, uploaded_at_ms, mode) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (course_code, session, semester, sha256, mode) \
             WHERE status <> 'superseded' DO NOTHING RETURNING {SHEET_COLUMNS}"
        );
        let inserted = sqlx::query(&sql)
            .bind(&code)
            .bind(session)
            .bind(semester)
            .bind(&sheet.sha256)
            .bind(size)
            .bind(&sheet.filename)
            .bind(&sheet.uploaded_by)
            .bind(now_ms())
            .bind(sheet.mode.as_str())
            .fetch_optional(&mut *tx)
            .await
            .map_err(|e| match db(e) {
                PortError::Invalid(_) => {
                    PortError::Invalid(format!("course {} does not exist", sheet.term.course_code))
                }
                other => other,
            })?;
        let (summary, created) = match inserted {
            Some(row) => {
                let summary = convert::sheet_summary(&row)?;
                let job = Envelope::new(
                    Job::ProcessSheet {
                        sheet_id: summary.id,
                    },
                    request_id.map(str::to_string),
                )
                .with_meta(JobMeta {
                    rows: sheet.rows_estimate,
                    class: outbox::department_of(&mut tx, &code).await?,
                    background: false,
                });
                outbox::enqueue(&mut tx, &job).await?;
                (summary, true)
            }
            None => {
                let sql = format!(
                    "SELECT {SHEET_COLUMNS} FROM sheets WHERE course_code = $1 AND session = $2 \
                     AND semester = $3 AND sha256 = $4 AND mode = $5 AND status <> 'superseded'"
                );
                let row = sqlx::query(&sql)
                    .bind(&code)
                    .bind(session)
                    .bind(semester)
                    .bind(&sheet.sha256)
                    .bind(sheet.mode.as_str())
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(db)?;
                (convert::sheet_summary(&row)?, false)
            }
        };
        tx.commit().await.map_err(db)?;
        Ok((summary, created))
    }

    async fn sheet(&self, id: i64) -> PortResult<Option<SheetReport>> {
        let sql = format!("SELECT {SHEET_COLUMNS} FROM sheets WHERE id = $1");
        let Some(row) = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?
        else {
            return Ok(None);
        };
        let sheet = convert::sheet_summary(&row)?;
        let errors = sqlx::query(
            "SELECT row_no, matric, kind, message FROM row_errors WHERE sheet_id = $1 \
             ORDER BY row_no, ordinal",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        let row_errors = errors
            .iter()
            .map(convert::row_error)
            .collect::<PortResult<_>>()?;
        Ok(Some(SheetReport { sheet, row_errors }))
    }

    async fn sheets_for(&self, term: &CourseTerm) -> PortResult<Vec<SheetSummary>> {
        let (code, session, semester) = term_key(term);
        let sql = format!(
            "SELECT {SHEET_COLUMNS} FROM sheets WHERE course_code = $1 AND session = $2 \
             AND semester = $3 ORDER BY id DESC"
        );
        let rows = sqlx::query(&sql)
            .bind(code)
            .bind(session)
            .bind(semester)
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        rows.iter().map(convert::sheet_summary).collect()
    }

    async fn all_sheets(
        &self,
        status: Option<eportal_ports::SheetStatus>,
        limit: u32,
        offset: u32,
    ) -> PortResult<(Vec<SheetSummary>, u64)> {
        let status = status.map(eportal_ports::SheetStatus::as_str);
        let sql = format!(
            "SELECT {SHEET_COLUMNS} FROM sheets WHERE ($1::text IS NULL OR status = $1) \
             ORDER BY id DESC LIMIT $2 OFFSET $3"
        );
        let rows = sqlx::query(&sql)
            .bind(status)
            .bind(i64::from(limit))
            .bind(i64::from(offset))
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        let total: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM sheets WHERE ($1::text IS NULL OR status = $1)",
        )
        .bind(status)
        .fetch_one(&self.pool)
        .await
        .map_err(db)?;
        let page = rows
            .iter()
            .map(convert::sheet_summary)
            .collect::<PortResult<Vec<_>>>()?;
        Ok((page, total as u64))
    }

    async fn note_retry(&self, sheet_id: i64, error: &str) -> PortResult<()> {
        sqlx::query(
            "INSERT INTO sheet_retries (sheet_id, retries, last_error) VALUES ($1, 1, $2) \
             ON CONFLICT (sheet_id) DO UPDATE SET retries = sheet_retries.retries + 1, \
             last_error = excluded.last_error",
        )
        .bind(sheet_id)
        .bind(error)
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn sheet_retries(&self, ids: &[i64]) -> PortResult<Vec<(i64, u32, String)>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<(i64, i64, String)> = sqlx::query_as(
            "SELECT sheet_id, retries::BIGINT, last_error FROM sheet_retries \
             WHERE sheet_id = ANY($1) ORDER BY sheet_id",
        )
        .bind(ids)
        .fetch_all(&self.pool)
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
        apply::apply(self, sheet_id, outcome, book).await
    }

    async fn confirm_sheet(
        &self,
        sheet_id: i64,
        request_id: Option<&str>,
    ) -> PortResult<SheetSummary> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        let summary = requeue(&mut tx, sheet_id, request_id).await?;
        tx.commit().await.map_err(db)?;
        Ok(summary)
    }

    async fn fail_sheet(&self, sheet_id: i64, message: &str) -> PortResult<()> {
        // Only a sheet still waiting can fail: a job dead-lettered after its effect was
        // committed must not hide a processed sheet.
        let found: Option<String> = sqlx::query_scalar(
            "WITH upd AS (UPDATE sheets SET status = 'failed', message = $2, \
             processed_at_ms = $3 WHERE id = $1 AND status = 'queued' RETURNING id) \
             SELECT status FROM sheets WHERE id = $1",
        )
        .bind(sheet_id)
        .bind(message)
        .bind(now_ms())
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        match found {
            Some(_) => Ok(()),
            None => Err(PortError::NotFound(format!("sheet {sheet_id}"))),
        }
    }

    async fn outbox_pending(&self, limit: u32) -> PortResult<Vec<(i64, Envelope)>> {
        self.claim_outbox(limit).await
    }

    async fn outbox_done(&self, ids: &[i64]) -> PortResult<()> {
        self.finish_outbox(ids).await
    }
}
