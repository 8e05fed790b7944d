//! A regrade's writes: each task's output with the mark that the task is done (one
//! transaction, so a redelivered task finds the mark and writes nothing), the next phase's
//! jobs from the last task of a phase, and the switch.

use crate::error::db;
use crate::policies::{book, enqueue, regrade_in, rows_of_json, semester_result_binds};
use crate::SqliteStore;
use eportal_core::jobs::Job;
use eportal_core::model::SemesterResult;
use eportal_core::policy_book::student_partition;
use eportal_core::regrade::{grade, RegradeRow};
use eportal_core::MatricNo;
use eportal_ports::error::PortResult;
use eportal_ports::{now_ms, Committed, PortError, RegradeStatus};
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};
use std::collections::BTreeSet;

/// Removes a regrade's staged rows (after its switch, or once it failed).
pub(crate) async fn drop_staging(conn: &mut SqliteConnection, regrade_id: i64) -> PortResult<()> {
    for sql in [
        "DELETE FROM regrade_grades WHERE regrade_id = ?1",
        "DELETE FROM regrade_results WHERE regrade_id = ?1",
    ] {
        sqlx::query(sql)
            .bind(regrade_id)
            .execute(&mut *conn)
            .await
            .map_err(db)?;
    }
    Ok(())
}

/// Marks a task done; `false` when it already was, or its regrade is not in `phase`.
async fn claim(
    conn: &mut SqliteConnection,
    regrade_id: i64,
    phase: &str,
    part: u32,
    status: RegradeStatus,
) -> PortResult<bool> {
    let current: Option<String> = sqlx::query_scalar("SELECT status FROM regrades WHERE id = ?1")
        .bind(regrade_id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db)?;
    let Some(current) = current else {
        return Err(PortError::NotFound(format!("regrade {regrade_id}")));
    };
    if current != status.as_str() {
        return Ok(false);
    }
    let done = sqlx::query(
        "INSERT INTO regrade_tasks (regrade_id, phase, part, done_at_ms) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT DO NOTHING",
    )
    .bind(regrade_id)
    .bind(phase)
    .bind(i64::from(part))
    .bind(now_ms())
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    Ok(done.rows_affected() == 1)
}

pub(crate) async fn finish_map(
    store: &SqliteStore,
    regrade_id: i64,
    part: u32,
    rows: &[RegradeRow],
    changed: u64,
) -> PortResult<bool> {
    let mut tx = store.begin().await?;
    if !claim(&mut tx, regrade_id, "map", part, RegradeStatus::Mapping).await? {
        return Ok(false);
    }
    let r = regrade_in(&mut tx, regrade_id).await?.expect("claimed");
    // 12 values a row, within SQLite's 32,766 bound values a statement.
    for chunk in rows.chunks(2_500) {
        let mut q = QueryBuilder::<Sqlite>::new(
            "INSERT INTO regrade_grades (regrade_id, matric_no, course_code, session, semester, \
             reduce_part, units, total, score_version, entry_session, grade, points) ",
        );
        q.push_values(chunk, |mut b, row| {
            b.push_bind(regrade_id)
                .push_bind(row.matric.as_str())
                .push_bind(row.course.as_str())
                .push_bind(i64::from(row.session.start_year()))
                .push_bind(i64::from(row.semester.number()))
                .push_bind(i64::from(student_partition(&row.matric, r.parts.reduce)))
                .push_bind(i64::from(row.units))
                .push_bind(i64::from(row.total.tenths()))
                .push_bind(i64::from(row.score_version))
                .push_bind(i64::from(row.entry.start_year()))
                .push_bind(row.grade.as_str())
                .push_bind(i64::from(row.points));
        });
        q.build().execute(&mut *tx).await.map_err(db)?;
    }
    sqlx::query(
        "UPDATE regrades SET maps_done = maps_done + 1, records = records + ?2, \
         changed = changed + ?3 WHERE id = ?1",
    )
    .bind(regrade_id)
    .bind(rows.len() as i64)
    .bind(changed as i64)
    .execute(&mut *tx)
    .await
    .map_err(db)?;
    if r.maps_done + 1 == r.parts.map {
        sqlx::query("UPDATE regrades SET status = 'reducing' WHERE id = ?1")
            .bind(regrade_id)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        let jobs = (0..r.parts.reduce)
            .map(|part| Job::RegradeReduce { regrade_id, part })
            .collect();
        enqueue(&mut tx, jobs).await?;
    }
    tx.commit().await.map_err(db)?;
    Ok(true)
}

pub(crate) async fn finish_reduce(
    store: &SqliteStore,
    regrade_id: i64,
    part: u32,
    results: &[SemesterResult],
) -> PortResult<bool> {
    let mut tx = store.begin().await?;
    if !claim(&mut tx, regrade_id, "reduce", part, RegradeStatus::Reducing).await? {
        return Ok(false);
    }
    let r = regrade_in(&mut tx, regrade_id).await?.expect("claimed");
    for chunk in results.chunks(3_000) {
        let mut q = QueryBuilder::<Sqlite>::new(
            "INSERT INTO regrade_results (regrade_id, matric_no, session, semester, units, \
             weighted_points, gpa, cumulative_units, cumulative_weighted_points, cgpa) ",
        );
        q.push_values(chunk, |mut b, s| {
            b.push_bind(regrade_id).push_bind(s.matric_no.as_str());
            for v in semester_result_binds(s) {
                b.push_bind(v);
            }
        });
        q.build().execute(&mut *tx).await.map_err(db)?;
    }
    let students: BTreeSet<&MatricNo> = results.iter().map(|s| &s.matric_no).collect();
    sqlx::query(
        "UPDATE regrades SET reduces_done = reduces_done + 1, students = students + ?2 \
         WHERE id = ?1",
    )
    .bind(regrade_id)
    .bind(students.len() as i64)
    .execute(&mut *tx)
    .await
    .map_err(db)?;
    if r.reduces_done + 1 == r.parts.reduce {
        sqlx::query("UPDATE regrades SET status = 'committing' WHERE id = ?1")
            .bind(regrade_id)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        enqueue(&mut tx, vec![Job::RegradeCommit { regrade_id }]).await?;
    }
    tx.commit().await.map_err(db)?;
    Ok(true)
}

/// The switch. The store's one writer makes it atomic with respect to sheets being applied:
/// a sheet applied before it is graded again here if its map task missed it; one applied
/// after it was judged under the new book (or is refused and judged again).
pub(crate) async fn commit(store: &SqliteStore, regrade_id: i64) -> PortResult<Committed> {
    let mut tx = store.begin().await?;
    let Some(r) = regrade_in(&mut tx, regrade_id).await? else {
        return Err(PortError::NotFound(format!("regrade {regrade_id}")));
    };
    match r.status {
        RegradeStatus::Done => return Ok(Committed::default()),
        RegradeStatus::Committing => {}
        other => {
            return Err(PortError::Conflict(format!(
                "regrade {regrade_id} is {}, not ready to switch",
                other.as_str()
            )))
        }
    }
    let new_book = book(&mut *tx, r.to_version).await?.ok_or_else(|| {
        PortError::Invalid(format!(
            "regrade {regrade_id}: policy version {} is not stored",
            r.to_version
        ))
    })?;
    let changed = sqlx::query(
        "UPDATE score_records SET grade = g.grade, points = g.points FROM regrade_grades g \
         WHERE g.regrade_id = ?1 AND g.matric_no = score_records.matric_no \
         AND g.course_code = score_records.course_code AND g.session = score_records.session \
         AND g.semester = score_records.semester AND g.score_version = score_records.version \
         AND (g.grade <> score_records.grade OR g.points <> score_records.points)",
    )
    .bind(regrade_id)
    .execute(&mut *tx)
    .await
    .map_err(db)?
    .rows_affected();
    // Scores written after their map task read them (or new since): graded here.
    let json: String = sqlx::query_scalar(
        "SELECT json_group_array(json_array(r.matric_no, r.course_code, r.session, \
         r.semester, c.units, r.total, r.version, s.entry_session, r.grade, r.points)) \
         FROM score_records r JOIN courses c ON c.code = r.course_code \
         JOIN students s ON s.matric_no = r.matric_no \
         LEFT JOIN regrade_grades g ON g.regrade_id = ?1 AND g.matric_no = r.matric_no \
           AND g.course_code = r.course_code AND g.session = r.session \
           AND g.semester = r.semester \
         WHERE g.matric_no IS NULL OR g.score_version <> r.version",
    )
    .bind(regrade_id)
    .fetch_one(&mut *tx)
    .await
    .map_err(db)?;
    let late = rows_of_json(&json)?;
    let mut regraded: BTreeSet<MatricNo> = BTreeSet::new();
    let mut changed = changed;
    for row in &late {
        let (g, p) = grade(&new_book, row);
        changed += u64::from(g != row.grade || p != row.points);
        sqlx::query(
            "UPDATE score_records SET grade = ?5, points = ?6 WHERE course_code = ?1 \
             AND session = ?2 AND semester = ?3 AND matric_no = ?4",
        )
        .bind(row.course.as_str())
        .bind(i64::from(row.session.start_year()))
        .bind(i64::from(row.semester.number()))
        .bind(row.matric.as_str())
        .bind(g)
        .bind(i64::from(p))
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        regraded.insert(row.matric.clone());
    }
    // Students who lost a record after their map task read it: their staged results count it.
    let gone: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT g.matric_no FROM regrade_grades g LEFT JOIN score_records r \
         ON r.matric_no = g.matric_no AND r.course_code = g.course_code \
         AND r.session = g.session AND r.semester = g.semester \
         WHERE g.regrade_id = ?1 AND r.matric_no IS NULL",
    )
    .bind(regrade_id)
    .fetch_all(&mut *tx)
    .await
    .map_err(db)?;
    for m in gone {
        regraded.insert(crate::rows::matric(&m)?);
    }
    for sql in [
        "DELETE FROM semester_results WHERE matric_no IN \
         (SELECT DISTINCT matric_no FROM regrade_results WHERE regrade_id = ?1)",
        "INSERT INTO semester_results (matric_no, session, semester, units, weighted_points, \
         gpa, cumulative_units, cumulative_weighted_points, cgpa) \
         SELECT matric_no, session, semester, units, weighted_points, gpa, cumulative_units, \
         cumulative_weighted_points, cgpa FROM regrade_results WHERE regrade_id = ?1",
    ] {
        sqlx::query(sql)
            .bind(regrade_id)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
    }
    let regraded: Vec<MatricNo> = regraded.into_iter().collect();
    crate::results::recompute_in(&mut tx, &regraded, &new_book).await?;
    let now = now_ms();
    sqlx::query("UPDATE policy_books SET activated_at_ms = ?2 WHERE version = ?1")
        .bind(i64::from(r.to_version))
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    sqlx::query("UPDATE regrades SET status = 'done', finished_at_ms = ?2 WHERE id = ?1")
        .bind(regrade_id)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    drop_staging(&mut tx, regrade_id).await?;
    tx.commit().await.map_err(db)?;
    Ok(Committed {
        changed,
        graded_at_commit: late.len() as u64,
        switched: true,
    })
}
