//! The stored workflow state of course results. The transition rules live in
//! `eportal_core::workflow`; this module only moves a state with a compare-and-set (a stale
//! `from` is a Conflict) and keeps every move as an event and a ledger entry. It must never
//! decide who may act.

use crate::error::db;
use crate::rows::{get, state, term_of};
use crate::SqliteStore;
use async_trait::async_trait;
use eportal_core::ledger::{Draft, TransitionBody};
use eportal_core::model::CourseTerm;
use eportal_core::workflow::WorkflowState;
use eportal_ports::error::PortResult;
use eportal_ports::store::CourseResultState;
use eportal_ports::{now_ms, PortError, Workflow};
use sqlx::sqlite::SqliteRow;

const COLUMNS: &str = "course_code, session, semester, state, reason, updated_by, updated_at_ms";

fn state_of(row: &SqliteRow) -> PortResult<CourseResultState> {
    Ok(CourseResultState {
        term: term_of(row)?,
        state: state(&get::<String>(row, "state")?)?,
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

#[async_trait]
impl Workflow for SqliteStore {
    async fn course_result(&self, term: &CourseTerm) -> PortResult<CourseResultState> {
        let sql = format!(
            "SELECT {COLUMNS} FROM course_results \
             WHERE course_code = ?1 AND session = ?2 AND semester = ?3"
        );
        let row = sqlx::query(&sql)
            .bind(term.course_code.as_str())
            .bind(term.session.start_year() as i64)
            .bind(term.semester.number() as i64)
            .fetch_optional(&self.read)
            .await
            .map_err(db)?;
        row.as_ref()
            .map(state_of)
            .unwrap_or_else(|| Ok(draft(term)))
    }

    async fn transition(
        &self,
        term: &CourseTerm,
        from: WorkflowState,
        to: WorkflowState,
        actor: &str,
        reason: Option<&str>,
    ) -> PortResult<CourseResultState> {
        let (code, session, semester) = (
            term.course_code.as_str(),
            term.session.start_year() as i64,
            term.semester.number() as i64,
        );
        let mut tx = self.begin().await?;
        let stored: Option<String> = sqlx::query_scalar(
            "SELECT state FROM course_results \
             WHERE course_code = ?1 AND session = ?2 AND semester = ?3",
        )
        .bind(code)
        .bind(session)
        .bind(semester)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?;
        let current = stored
            .as_deref()
            .map(state)
            .transpose()?
            .unwrap_or(WorkflowState::Draft);
        if current != from {
            return Err(PortError::Conflict(format!(
                "the result of {code} {} {} semester is {current}, not {from}",
                term.session, term.semester
            )));
        }
        let now = now_ms();
        let sql = format!(
            "INSERT INTO course_results ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
             ON CONFLICT (course_code, session, semester) DO UPDATE SET state = excluded.state, \
             reason = excluded.reason, updated_by = excluded.updated_by, \
             updated_at_ms = excluded.updated_at_ms RETURNING {COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(code)
            .bind(session)
            .bind(semester)
            .bind(to.as_str())
            .bind(reason)
            .bind(actor)
            .bind(now)
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| match db(e) {
                PortError::Invalid(_) => {
                    PortError::Invalid(format!("course {code} does not exist"))
                }
                other => other,
            })?;
        let result = state_of(&row)?;
        sqlx::query(
            "INSERT INTO course_result_events (course_code, session, semester, from_state, \
             to_state, actor, reason, at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )
        .bind(code)
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
        let body = TransitionBody {
            from: from.as_str().into(),
            to: to.as_str().into(),
            reason: reason.map(str::to_string),
        };
        let entry = Draft::transition(now, actor, crate::ledger::subject(term, None), &body);
        crate::ledger::append(&mut tx, vec![entry]).await?;
        tx.commit().await.map_err(db)?;
        Ok(result)
    }

    async fn course_results_in(&self, wanted: WorkflowState) -> PortResult<Vec<CourseResultState>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM course_results WHERE state = ?1 \
             ORDER BY session, semester, course_code"
        );
        let rows = sqlx::query(&sql)
            .bind(wanted.as_str())
            .fetch_all(&self.read)
            .await
            .map_err(db)?;
        rows.iter().map(state_of).collect()
    }
}
