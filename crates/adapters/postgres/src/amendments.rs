//! Amendments in PostgreSQL: the request (amendment, sheet and job in one transaction), the
//! reviewers' decisions as compare-and-set on the number of approvals, and the hooks
//! `apply.rs` calls for an amendment's sheet. Every step appends an `amendment` entry to
//! the ledger in its own transaction. A decision locks the amendment's row first, so two
//! reviewers acting at once cannot both take a step. It must never decide who may act, and
//! never let an amendment's sheet be applied before its last approval.

use crate::convert::{get, term, term_key};
use crate::error::db;
use crate::sheets::requeue;
use crate::PgStore;
use async_trait::async_trait;
use eportal_core::amendment::{AmendmentStatus, ApprovalChain};
use eportal_core::discipline::JobMeta;
use eportal_core::jobs::{Envelope, Job};
use eportal_core::ledger::{AmendmentBody, Draft};
use eportal_core::model::CourseTerm;
use eportal_ports::amendments::words;
use eportal_ports::error::PortResult;
use eportal_ports::{
    now_ms, Amendment, Amendments, Approval, NewAmendment, PortError, Rejection, SheetStatus,
};
use sqlx::postgres::PgRow;
use sqlx::PgConnection;

const COLUMNS: &str = "id, sheet_id, course_code, session, semester, reason, requested_by, \
     requested_at_ms, chain, status, approvals, rejection, applied_at_ms";

fn corrupt(what: &str, why: impl std::fmt::Display) -> PortError {
    PortError::Invalid(format!("stored {what} is not valid: {why}"))
}

fn json<T: serde::de::DeserializeOwned>(what: &str, s: &str) -> PortResult<T> {
    serde_json::from_str(s).map_err(|e| corrupt(what, e))
}

fn amendment_of(row: &PgRow) -> PortResult<Amendment> {
    let status: String = get(row, "status")?;
    let chain: String = get(row, "chain")?;
    Ok(Amendment {
        id: get(row, "id")?,
        term: term(row)?,
        sheet_id: get(row, "sheet_id")?,
        reason: get(row, "reason")?,
        requested_by: get(row, "requested_by")?,
        requested_at_ms: get(row, "requested_at_ms")?,
        chain: ApprovalChain::parse(&chain).map_err(|e| corrupt("approval chain", e))?,
        status: AmendmentStatus::parse(&status)
            .ok_or_else(|| corrupt("amendment status", status))?,
        approvals: json("approvals", &get::<String>(row, "approvals")?)?,
        rejection: get::<Option<String>>(row, "rejection")?
            .map(|r| json("rejection", &r))
            .transpose()?,
        applied_at_ms: get(row, "applied_at_ms")?,
    })
}

async fn by_amendment_id(conn: &mut PgConnection, id: i64) -> PortResult<Amendment> {
    let sql = format!("SELECT {COLUMNS} FROM amendments WHERE id = $1 FOR UPDATE");
    let row = sqlx::query(&sql)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db)?
        .ok_or_else(|| PortError::NotFound(format!("amendment {id} does not exist")))?;
    amendment_of(&row)
}

/// Inserts the amendment's sheet (queued) and its processing job. The same file as a sheet
/// of the term that is not superseded is a conflict: it would change nothing.
async fn insert_sheet(
    conn: &mut PgConnection,
    new: &NewAmendment,
    now: i64,
    request_id: Option<&str>,
) -> PortResult<i64> {
    let sheet = &new.sheet;
    let (code, session, semester) = term_key(&sheet.term);
    let size = i64::try_from(sheet.size_bytes).map_err(|e| corrupt("sheet size", e))?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO sheets (course_code, session, semester, sha256, size_bytes, filename, \
         uploaded_by, uploaded_at_ms, mode) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         RETURNING id",
    )
    .bind(&code)
    .bind(session)
    .bind(semester)
    .bind(&sheet.sha256)
    .bind(size)
    .bind(&sheet.filename)
    .bind(&sheet.uploaded_by)
    .bind(now)
    .bind(sheet.mode.as_str())
    .fetch_one(&mut *conn)
    .await
    .map_err(db)?;
    let job = Envelope::new(
        Job::ProcessSheet { sheet_id: id },
        request_id.map(str::to_string),
    )
    .with_meta(JobMeta {
        rows: sheet.rows_estimate,
        class: crate::outbox::department_of(&mut *conn, &code).await?,
        background: false,
    });
    crate::outbox::enqueue(conn, &job).await?;
    Ok(id)
}

/// The amendment whose sheet this is, if any: `(id, status)`.
pub(crate) async fn of_sheet(
    conn: &mut PgConnection,
    sheet_id: i64,
) -> PortResult<Option<(i64, AmendmentStatus)>> {
    let row: Option<(i64, String)> =
        sqlx::query_as("SELECT id, status FROM amendments WHERE sheet_id = $1")
            .bind(sheet_id)
            .fetch_optional(&mut *conn)
            .await
            .map_err(db)?;
    row.map(|(id, s)| {
        AmendmentStatus::parse(&s)
            .map(|st| (id, st))
            .ok_or_else(|| corrupt("amendment status", s))
    })
    .transpose()
}

/// Appends one `amendment` entry for `a`.
async fn log(
    conn: &mut PgConnection,
    term: &CourseTerm,
    actor: &str,
    body: AmendmentBody,
    now: i64,
) -> PortResult<()> {
    let (code, session, semester) = term_key(term);
    let subject = crate::ledger::subject(&code, session, semester, None);
    crate::ledger::append(conn, vec![Draft::amendment(now, actor, subject, &body)]).await
}

/// Marks an approved amendment applied, in `apply.rs`'s transaction.
pub(crate) async fn mark_applied(
    conn: &mut PgConnection,
    id: i64,
    term: &CourseTerm,
    now: i64,
) -> PortResult<()> {
    sqlx::query("UPDATE amendments SET status = 'applied', applied_at_ms = $2 WHERE id = $1")
        .bind(id)
        .bind(now)
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    log(conn, term, "eportal", AmendmentBody::applied(id), now).await
}

/// Ends a pending amendment whose sheet could not be used at all, in `apply.rs`'s
/// transaction.
pub(crate) async fn mark_unusable(
    conn: &mut PgConnection,
    id: i64,
    term: &CourseTerm,
    message: &str,
    now: i64,
) -> PortResult<()> {
    let rejection = Rejection {
        role: None,
        by: "eportal".into(),
        at_ms: now,
        reason: message.to_string(),
    };
    store_rejection(conn, id, &rejection).await?;
    let body = AmendmentBody::rejected(id, None, message);
    log(conn, term, "eportal", body, now).await
}

async fn store_rejection(
    conn: &mut PgConnection,
    id: i64,
    rejection: &Rejection,
) -> PortResult<()> {
    let text = serde_json::to_string(rejection).map_err(|e| corrupt("rejection", e))?;
    sqlx::query("UPDATE amendments SET status = 'rejected', rejection = $2 WHERE id = $1")
        .bind(id)
        .bind(text)
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    Ok(())
}

/// The amendment, checked to be pending at `step` with its sheet held for the decision.
async fn decidable(conn: &mut PgConnection, id: i64, step: usize) -> PortResult<Amendment> {
    let a = by_amendment_id(conn, id).await?;
    if a.status != AmendmentStatus::Pending || a.approvals.len() != step {
        return Err(words::moved_on(id, a.status, a.approvals.len()));
    }
    let (status, message): (String, Option<String>) =
        sqlx::query_as("SELECT status, message FROM sheets WHERE id = $1")
            .bind(a.sheet_id)
            .fetch_one(&mut *conn)
            .await
            .map_err(db)?;
    let status = crate::convert::status(&status)?;
    if status != SheetStatus::Held {
        return Err(words::sheet_not_held(&a, status, message.as_deref()));
    }
    Ok(a)
}

#[async_trait]
impl Amendments for PgStore {
    async fn request_amendment(
        &self,
        new: &NewAmendment,
        request_id: Option<&str>,
    ) -> PortResult<Amendment> {
        let term = &new.sheet.term;
        let (code, session, semester) = term_key(term);
        let mut tx = self.pool.begin().await.map_err(db)?;
        let state: Option<String> = sqlx::query_scalar(
            "SELECT state FROM course_results \
             WHERE course_code = $1 AND session = $2 AND semester = $3 FOR SHARE",
        )
        .bind(&code)
        .bind(session)
        .bind(semester)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?;
        let state = state.unwrap_or_else(|| "draft".into());
        if state != "published" {
            return Err(words::not_published(&state));
        }
        let now = now_ms();
        let sheet_id = insert_sheet(&mut tx, new, now, request_id).await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO amendments (sheet_id, course_code, session, semester, reason, \
             requested_by, requested_at_ms, chain, status) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending') RETURNING id",
        )
        .bind(sheet_id)
        .bind(&code)
        .bind(session)
        .bind(semester)
        .bind(&new.reason)
        .bind(&new.requested_by)
        .bind(now)
        .bind(new.chain.to_string())
        .fetch_one(&mut *tx)
        .await
        .map_err(db)?;
        let body = AmendmentBody::requested(id, &new.reason);
        log(&mut tx, term, &new.requested_by, body, now).await?;
        let amendment = by_amendment_id(&mut tx, id).await?;
        tx.commit().await.map_err(db)?;
        Ok(amendment)
    }

    async fn amendment(&self, id: i64) -> PortResult<Option<Amendment>> {
        let sql = format!("SELECT {COLUMNS} FROM amendments WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?;
        row.as_ref().map(amendment_of).transpose()
    }

    async fn amendments_for(&self, term: &CourseTerm) -> PortResult<Vec<Amendment>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM amendments \
             WHERE course_code = $1 AND session = $2 AND semester = $3 ORDER BY id DESC"
        );
        let (code, session, semester) = term_key(term);
        sqlx::query(&sql)
            .bind(code)
            .bind(session)
            .bind(semester)
            .fetch_all(&self.pool)
            .await
            .map_err(db)?
            .iter()
            .map(amendment_of)
            .collect()
    }

    async fn amendments_in(&self, status: AmendmentStatus) -> PortResult<Vec<Amendment>> {
        let sql = format!("SELECT {COLUMNS} FROM amendments WHERE status = $1 ORDER BY id");
        sqlx::query(&sql)
            .bind(status.as_str())
            .fetch_all(&self.pool)
            .await
            .map_err(db)?
            .iter()
            .map(amendment_of)
            .collect()
    }

    async fn approve_amendment(
        &self,
        id: i64,
        step: usize,
        by: &Approval,
        request_id: Option<&str>,
    ) -> PortResult<Amendment> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        let a = decidable(&mut tx, id, step).await?;
        let mut approvals = a.approvals.clone();
        approvals.push(by.clone());
        let last = approvals.len() == a.chain.roles().len();
        let text = serde_json::to_string(&approvals).map_err(|e| corrupt("approvals", e))?;
        sqlx::query(
            "UPDATE amendments SET approvals = $2, approved_steps = $3, status = $4 WHERE id = $1",
        )
        .bind(id)
        .bind(text)
        .bind(i32::try_from(approvals.len()).map_err(|e| corrupt("approvals", e))?)
        .bind(if last { "approved" } else { "pending" })
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        if last {
            requeue(&mut tx, a.sheet_id, request_id).await?;
        }
        let body = AmendmentBody::approved(id, by.role.as_str());
        log(&mut tx, &a.term, &by.by, body, by.at_ms).await?;
        let amendment = by_amendment_id(&mut tx, id).await?;
        tx.commit().await.map_err(db)?;
        Ok(amendment)
    }

    async fn reject_amendment(
        &self,
        id: i64,
        step: usize,
        rejection: &Rejection,
    ) -> PortResult<Amendment> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        let a = decidable(&mut tx, id, step).await?;
        store_rejection(&mut tx, id, rejection).await?;
        sqlx::query(
            "UPDATE sheets SET status = 'rejected', message = $2, processed_at_ms = $3 \
             WHERE id = $1",
        )
        .bind(a.sheet_id)
        .bind(words::rejected_sheet(id, rejection))
        .bind(rejection.at_ms)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        let role = rejection.role.map(|r| r.as_str());
        let body = AmendmentBody::rejected(id, role, &rejection.reason);
        log(&mut tx, &a.term, &rejection.by, body, rejection.at_ms).await?;
        let amendment = by_amendment_id(&mut tx, id).await?;
        tx.commit().await.map_err(db)?;
        Ok(amendment)
    }
}
