//! The approval workflow's state per course result, in PostgreSQL. A transition is one
//! conditional write (`… WHERE state = from`) plus its history row and its ledger entry, in
//! one transaction, so two reviewers acting at once cannot both succeed from the same state.
//!
//! The transition rules themselves (who may move what where) live in `eportal_core::workflow`;
//! this module must never second-guess them, only refuse stale ones.

use crate::convert::{self, get, term_key};
use crate::error::db;
use crate::PgStore;
use async_trait::async_trait;
use eportal_core::ledger::{Draft, TransitionBody};
use eportal_core::model::CourseTerm;
use eportal_core::workflow::WorkflowState;
use eportal_ports::error::PortResult;
use eportal_ports::store::CourseResultState;
use eportal_ports::{now_ms, PortError, Workflow};
use sqlx::postgres::PgRow;

const COLUMNS: &str = "course_code, session, semester, state, reason, updated_by, updated_at_ms";

fn result_state(row: &PgRow) -> PortResult<CourseResultState> {
    Ok(CourseResultState {
        term: convert::term(row)?,
        state: convert::state(&get::<String>(row, "state")?)?,
        reason: get(row, "reason")?,
        updated_by: get(row, "updated_by")?,
        updated_at_ms: get(row, "updated_at_ms")?,
    })
}

fn draft(term: &CourseTerm) -> CourseResultState {
    CourseResultState {
        term: term.clone(),
        state: WorkflowState::Draft,
        reason: None,
        updated_by: None,
        updated_at_ms: 0,
    }
}

fn describe(term: &CourseTerm) -> String {
    format!(
        "{} {} {} semester",
        term.course_code, term.session, term.semester
    )
}

#[async_trait]
impl Workflow for PgStore {
    async fn course_result(&self, term: &CourseTerm) -> PortResult<CourseResultState> {
        let (code, session, semester) = term_key(term);
        let sql = format!(
            "SELECT {COLUMNS} FROM course_results WHERE course_code = $1 AND session = $2 \
             AND semester = $3"
        );
        let row = sqlx::query(&sql)
            .bind(code)
            .bind(session)
            .bind(semester)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?;
        match row {
            Some(r) => result_state(&r),
            None => Ok(draft(term)),
        }
    }

    async fn transition(
        &self,
        term: &CourseTerm,
        from: WorkflowState,
        to: WorkflowState,
        actor: &str,
        reason: Option<&str>,
    ) -> PortResult<CourseResultState> {
        let (code, session, semester) = term_key(term);
        let now = now_ms();
        let mut tx = self.pool.begin().await.map_err(db)?;
        let set = "state = EXCLUDED.state, reason = EXCLUDED.reason, \
                   updated_by = EXCLUDED.updated_by, updated_at_ms = EXCLUDED.updated_at_ms";
        // A result nobody has touched has no row yet and is a draft, so only a move from
        // draft may create the row; the conditional update is what makes a stale `from` fail.
        let sql = if from == WorkflowState::Draft {
            format!(
                "INSERT INTO course_results ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                 ON CONFLICT (course_code, session, semester) DO UPDATE SET {set} \
                 WHERE course_results.state = $8 RETURNING {COLUMNS}"
            )
        } else {
            format!(
                "UPDATE course_results SET state = $4, reason = $5, updated_by = $6, \
                 updated_at_ms = $7 WHERE course_code = $1 AND session = $2 AND semester = $3 \
                 AND state = $8 RETURNING {COLUMNS}"
            )
        };
        let unknown_course = || PortError::Invalid(format!("course {code} does not exist"));
        let row = sqlx::query(&sql)
            .bind(&code)
            .bind(session)
            .bind(semester)
            .bind(to.as_str())
            .bind(reason)
            .bind(actor)
            .bind(now)
            .bind(from.as_str())
            .fetch_optional(&mut *tx)
            .await
            .map_err(|e| match db(e) {
                PortError::Invalid(_) => unknown_course(),
                other => other,
            })?;
        let Some(row) = row else {
            drop(tx);
            let current = self.course_result(term).await?;
            let known: Option<i32> = sqlx::query_scalar("SELECT 1 FROM courses WHERE code = $1")
                .bind(&code)
                .fetch_optional(&self.pool)
                .await
                .map_err(db)?;
            if known.is_none() {
                return Err(unknown_course());
            }
            return Err(PortError::Conflict(format!(
                "the result of {} is {}, not {from}",
                describe(term),
                current.state
            )));
        };
        sqlx::query(
            "INSERT INTO workflow_events (course_code, session, semester, from_state, to_state, \
             actor, reason, at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&code)
        .bind(session)
        .bind(semester)
        .bind(from.as_str())
        .bind(to.as_str())
        .bind(actor)
        .bind(reason)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        let state = result_state(&row)?;
        let body = TransitionBody {
            from: from.as_str().into(),
            to: to.as_str().into(),
            reason: reason.map(str::to_string),
        };
        let subject = crate::ledger::subject(&code, session, semester, None);
        let entry = Draft::transition(now, actor, subject, &body);
        crate::ledger::append(&mut tx, vec![entry]).await?;
        tx.commit().await.map_err(db)?;
        Ok(state)
    }

    async fn course_results_in(&self, state: WorkflowState) -> PortResult<Vec<CourseResultState>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM course_results WHERE state = $1 \
             ORDER BY session, semester, course_code"
        );
        let rows = sqlx::query(&sql)
            .bind(state.as_str())
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        rows.iter().map(result_state).collect()
    }
}
