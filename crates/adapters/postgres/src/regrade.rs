//! A regrade's tasks in PostgreSQL: each task's output is staged with the mark that the task
//! is done, in one transaction, under a key-share lock of the regrade's row (its status
//! cannot change meanwhile), so a redelivered task finds the mark and writes nothing; tasks
//! finishing at once stage side by side and count one after another (the counters' update). The last task
//! of a phase moves the regrade on and writes the next phase's jobs to the outbox in that
//! same transaction. The map output carries each row's reduce partition: that is the shuffle.
//!
//! Must never write anything for a task already done or a regrade not in the task's phase,
//! and never touch the live records (that is the switch's, in `switch`).

use crate::error::db;
use crate::policies::{enqueue_parts, graded_row, share_regrade};
use crate::{outbox, PgStore};
use eportal_core::jobs::{Envelope, Job};
use eportal_core::model::SemesterResult;
use eportal_core::policy_book::student_partition;
use eportal_core::regrade::RegradeRow;
use eportal_core::MatricNo;
use eportal_ports::error::PortResult;
use eportal_ports::{now_ms, PortError, Regrade, RegradeStatus};
use sqlx::PgConnection;
use std::collections::BTreeSet;

/// Key-share locks the regrade and marks the task done: the regrade, or `None` (nothing to do) when
/// the regrade is not in `status` or the task was already done.
async fn claim(
    conn: &mut PgConnection,
    regrade_id: i64,
    phase: &str,
    part: u32,
    status: RegradeStatus,
) -> PortResult<Option<Regrade>> {
    let r = share_regrade(conn, regrade_id).await?;
    if r.status != status {
        return Ok(None);
    }
    let parts = if phase == "map" {
        r.parts.map
    } else {
        r.parts.reduce
    };
    if part >= parts {
        return Err(PortError::Invalid(format!(
            "regrade {regrade_id} has {parts} {phase} tasks; there is no task {part}"
        )));
    }
    let done = sqlx::query(
        "INSERT INTO regrade_tasks (regrade_id, phase, part, done_at_ms) VALUES ($1, $2, $3, $4) \
         ON CONFLICT DO NOTHING",
    )
    .bind(regrade_id)
    .bind(phase)
    .bind(part as i32)
    .bind(now_ms())
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    Ok((done.rows_affected() == 1).then_some(r))
}

fn big(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

pub(crate) async fn finish_map(
    store: &PgStore,
    regrade_id: i64,
    part: u32,
    rows: &[RegradeRow],
    changed: u64,
) -> PortResult<bool> {
    let mut tx = store.pool.begin().await.map_err(db)?;
    let Some(r) = claim(&mut tx, regrade_id, "map", part, RegradeStatus::Mapping).await? else {
        return Ok(false);
    };
    let staged = stage_grades(&mut tx, &r, rows).await?;
    let (maps_done, map_parts): (i32, i32) = sqlx::query_as(
        "UPDATE regrades SET maps_done = maps_done + 1, records = records + $2, \
         changed = changed + $3 WHERE id = $1 RETURNING maps_done, map_parts",
    )
    .bind(regrade_id)
    .bind(big(staged))
    .bind(big(changed))
    .fetch_one(&mut *tx)
    .await
    .map_err(db)?;
    if maps_done == map_parts {
        sqlx::query("UPDATE regrades SET status = 'reducing' WHERE id = $1")
            .bind(regrade_id)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        // The staging table went from nothing to every record within minutes: without fresh
        // statistics the reducers' and the switch's plans would take it for empty.
        sqlx::query("ANALYZE regrade_grades")
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        enqueue_parts(&mut tx, r.parts.reduce, |part| Job::RegradeReduce {
            regrade_id,
            part,
        })
        .await?;
    }
    tx.commit().await.map_err(db)?;
    Ok(true)
}

/// Stages a map task's graded rows in one statement (a task may hold 100k+ rows); returns
/// how many were staged. A row already staged (the same record twice) is kept once.
async fn stage_grades(
    conn: &mut PgConnection,
    r: &Regrade,
    rows: &[RegradeRow],
) -> PortResult<u64> {
    if rows.is_empty() {
        return Ok(0);
    }
    let small = |n: u32| i32::try_from(n).unwrap_or(i32::MAX);
    let matric: Vec<&str> = rows.iter().map(|x| x.matric.as_str()).collect();
    let course: Vec<&str> = rows.iter().map(|x| x.course.as_str()).collect();
    let session: Vec<i32> = rows
        .iter()
        .map(|x| i32::from(x.session.start_year()))
        .collect();
    let semester: Vec<i32> = rows
        .iter()
        .map(|x| i32::from(x.semester.number()))
        .collect();
    let part: Vec<i32> = rows
        .iter()
        .map(|x| small(student_partition(&x.matric, r.parts.reduce)))
        .collect();
    let units: Vec<i32> = rows.iter().map(|x| i32::from(x.units)).collect();
    let total: Vec<i32> = rows.iter().map(|x| i32::from(x.total.tenths())).collect();
    let version: Vec<i32> = rows.iter().map(|x| small(x.score_version)).collect();
    let entry: Vec<i32> = rows
        .iter()
        .map(|x| i32::from(x.entry.start_year()))
        .collect();
    let grade: Vec<&str> = rows.iter().map(|x| x.grade.as_str()).collect();
    let points: Vec<i32> = rows.iter().map(|x| i32::from(x.points)).collect();
    let done = sqlx::query(
        "INSERT INTO regrade_grades (regrade_id, matric_no, course_code, session, semester, \
         reduce_part, units, total, score_version, entry_session, grade, points) \
         SELECT $1, m, c, s, t, p, u, tot, v, e, g, pts FROM UNNEST($2::text[], $3::text[], \
         $4::int4[], $5::int4[], $6::int4[], $7::int4[], $8::int4[], $9::int4[], $10::int4[], \
         $11::text[], $12::int4[]) AS x(m, c, s, t, p, u, tot, v, e, g, pts) \
         ON CONFLICT DO NOTHING",
    )
    .bind(r.id)
    .bind(matric)
    .bind(course)
    .bind(session)
    .bind(semester)
    .bind(part)
    .bind(units)
    .bind(total)
    .bind(version)
    .bind(entry)
    .bind(grade)
    .bind(points)
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    Ok(done.rows_affected())
}

pub(crate) async fn reduce_rows(
    store: &PgStore,
    regrade_id: i64,
    part: u32,
) -> PortResult<Vec<RegradeRow>> {
    let rows = sqlx::query(
        "SELECT matric_no, course_code, session, semester, units, total, score_version, \
         entry_session, grade, points FROM regrade_grades \
         WHERE regrade_id = $1 AND reduce_part = $2 \
         ORDER BY matric_no, session, semester, course_code",
    )
    .bind(regrade_id)
    .bind(i32::try_from(part).unwrap_or(i32::MAX))
    .fetch_all(&store.pool)
    .await
    .map_err(db)?;
    rows.iter().map(graded_row).collect()
}

pub(crate) async fn finish_reduce(
    store: &PgStore,
    regrade_id: i64,
    part: u32,
    results: &[SemesterResult],
) -> PortResult<bool> {
    let mut tx = store.pool.begin().await.map_err(db)?;
    if claim(&mut tx, regrade_id, "reduce", part, RegradeStatus::Reducing)
        .await?
        .is_none()
    {
        return Ok(false);
    }
    stage_results(&mut tx, regrade_id, results).await?;
    let students: BTreeSet<&MatricNo> = results.iter().map(|s| &s.matric_no).collect();
    let (reduces_done, reduce_parts): (i32, i32) = sqlx::query_as(
        "UPDATE regrades SET reduces_done = reduces_done + 1, students = students + $2 \
         WHERE id = $1 RETURNING reduces_done, reduce_parts",
    )
    .bind(regrade_id)
    .bind(big(students.len() as u64))
    .fetch_one(&mut *tx)
    .await
    .map_err(db)?;
    if reduces_done == reduce_parts {
        sqlx::query("UPDATE regrades SET status = 'committing' WHERE id = $1")
            .bind(regrade_id)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        sqlx::query("ANALYZE regrade_results")
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        let commit = Envelope::new(Job::RegradeCommit { regrade_id }, None);
        outbox::enqueue(&mut tx, &commit).await?;
    }
    tx.commit().await.map_err(db)?;
    Ok(true)
}

/// Stages a reduce task's semester results in one statement.
async fn stage_results(
    conn: &mut PgConnection,
    regrade_id: i64,
    results: &[SemesterResult],
) -> PortResult<()> {
    if results.is_empty() {
        return Ok(());
    }
    let matric: Vec<&str> = results.iter().map(|s| s.matric_no.as_str()).collect();
    let session: Vec<i32> = results
        .iter()
        .map(|s| i32::from(s.session.start_year()))
        .collect();
    let semester: Vec<i32> = results
        .iter()
        .map(|s| i32::from(s.semester.number()))
        .collect();
    let units: Vec<i64> = results.iter().map(|s| i64::from(s.units)).collect();
    let weighted: Vec<i64> = results
        .iter()
        .map(|s| i64::from(s.weighted_points))
        .collect();
    let gpa: Vec<i32> = results
        .iter()
        .map(|s| i32::from(s.gpa.hundredths()))
        .collect();
    let cum_units: Vec<i64> = results
        .iter()
        .map(|s| i64::from(s.cumulative_units))
        .collect();
    let cum_weighted: Vec<i64> = results
        .iter()
        .map(|s| i64::from(s.cumulative_weighted_points))
        .collect();
    let cgpa: Vec<i32> = results
        .iter()
        .map(|s| i32::from(s.cgpa.hundredths()))
        .collect();
    sqlx::query(
        "INSERT INTO regrade_results (regrade_id, matric_no, session, semester, units, \
         weighted_points, gpa, cumulative_units, cumulative_weighted_points, cgpa) \
         SELECT $1, m, s, t, u, w, g, cu, cw, cg FROM UNNEST($2::text[], $3::int4[], \
         $4::int4[], $5::int8[], $6::int8[], $7::int4[], $8::int8[], $9::int8[], $10::int4[]) \
         AS x(m, s, t, u, w, g, cu, cw, cg) ON CONFLICT DO NOTHING",
    )
    .bind(regrade_id)
    .bind(matric)
    .bind(session)
    .bind(semester)
    .bind(units)
    .bind(weighted)
    .bind(gpa)
    .bind(cum_units)
    .bind(cum_weighted)
    .bind(cgpa)
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    Ok(())
}

/// Removes a regrade's staged rows (after its switch, or when it failed).
pub(crate) async fn drop_staging(conn: &mut PgConnection, regrade_id: i64) -> PortResult<()> {
    for table in ["regrade_grades", "regrade_results"] {
        sqlx::query(&format!("DELETE FROM {table} WHERE regrade_id = $1"))
            .bind(regrade_id)
            .execute(&mut *conn)
            .await
            .map_err(db)?;
    }
    Ok(())
}
