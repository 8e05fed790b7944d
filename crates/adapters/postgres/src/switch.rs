//! A regrade's switch in PostgreSQL, in one transaction: the staged grades and semester
//! results replace the live ones, records whose score changed after their map task read it
//! (or that no map task saw) are graded again under the new book, the students whose staged
//! rows no longer match their records get their results recomputed, the book becomes active,
//! the regrade done, and its staging rows go.
//!
//! While it runs no sheet is applied: it holds `SHARE ROW EXCLUSIVE` on `current_scores`,
//! which waits for the applies in progress and holds off new ones until it commits; those
//! then find the new book active (see `policies::stale_book`). Readers are never blocked.
//! Must never switch a regrade that is not committing, nor switch one twice.

use crate::error::db;
use crate::policies::{book_in, graded_row, lock_regrade, CURRENT_ROWS};
use crate::results::recompute;
use crate::PgStore;
use eportal_core::regrade::{grade, RegradeRow};
use eportal_core::PolicyBook;
use eportal_ports::error::PortResult;
use eportal_ports::{now_ms, Committed, PortError, RegradeStatus};
use sqlx::PgConnection;
use std::collections::BTreeSet;

/// A staged row `g` of regrade `$1` for the record `v` at the version it was read.
const SAME_RECORD: &str = "g.course_code = v.course_code AND g.session = v.session \
     AND g.semester = v.semester AND g.matric_no = v.matric_no AND g.score_version = v.version";

pub(crate) async fn commit(store: &PgStore, regrade_id: i64) -> PortResult<Committed> {
    let mut tx = store.pool.begin().await.map_err(db)?;
    let r = lock_regrade(&mut tx, regrade_id).await?;
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
    sqlx::query("LOCK TABLE current_scores IN SHARE ROW EXCLUSIVE MODE")
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    let book = book_in(&mut tx, r.to_version).await?.ok_or_else(|| {
        PortError::Invalid(format!(
            "regrade {regrade_id}: policy version {} is not stored",
            r.to_version
        ))
    })?;
    // The staged students, in matric order: a recompute elsewhere (under the old book) either
    // finished before this or waits for it.
    sqlx::query(
        "WITH locked AS (SELECT matric_no FROM students WHERE matric_no IN \
         (SELECT matric_no FROM regrade_grades WHERE regrade_id = $1) \
         ORDER BY matric_no FOR NO KEY UPDATE) SELECT count(*) FROM locked",
    )
    .bind(regrade_id)
    .execute(&mut *tx)
    .await
    .map_err(db)?;

    let staged = sqlx::query(&format!(
        "UPDATE current_scores v SET grade = g.grade, points = g.points FROM regrade_grades g \
         WHERE g.regrade_id = $1 AND {SAME_RECORD} \
         AND (v.grade <> g.grade OR v.points <> g.points)"
    ))
    .bind(regrade_id)
    .execute(&mut *tx)
    .await
    .map_err(db)?
    .rows_affected();
    let (graded_at_commit, changed_at_commit, mut stale) =
        grade_unstaged(&mut tx, regrade_id, &book).await?;

    // Staged rows whose record changed or went: their students' staged results are stale.
    let gone: Vec<String> = sqlx::query_scalar(&format!(
        "SELECT DISTINCT g.matric_no FROM regrade_grades g WHERE g.regrade_id = $1 \
         AND NOT EXISTS (SELECT 1 FROM current_scores v WHERE {SAME_RECORD})"
    ))
    .bind(regrade_id)
    .fetch_all(&mut *tx)
    .await
    .map_err(db)?;
    stale.extend(gone);

    let now = now_ms();
    sqlx::query(
        "DELETE FROM semester_results WHERE matric_no IN \
         (SELECT matric_no FROM regrade_grades WHERE regrade_id = $1 \
          UNION SELECT matric_no FROM regrade_results WHERE regrade_id = $1)",
    )
    .bind(regrade_id)
    .execute(&mut *tx)
    .await
    .map_err(db)?;
    sqlx::query(
        "INSERT INTO semester_results (matric_no, session, semester, units, weighted_points, \
         gpa, cumulative_units, cumulative_weighted_points, cgpa, computed_at_ms) \
         SELECT matric_no, session, semester, units, weighted_points, gpa, cumulative_units, \
         cumulative_weighted_points, cgpa, $2 FROM regrade_results WHERE regrade_id = $1",
    )
    .bind(regrade_id)
    .bind(now)
    .execute(&mut *tx)
    .await
    .map_err(db)?;
    let stale: Vec<String> = stale.into_iter().collect();
    recompute(&mut tx, &stale, &book).await?;

    sqlx::query("UPDATE policy_books SET activated_at_ms = $2 WHERE version = $1")
        .bind(i64::from(r.to_version))
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    sqlx::query("UPDATE regrades SET status = 'done', finished_at_ms = $2 WHERE id = $1")
        .bind(regrade_id)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    crate::regrade::drop_staging(&mut tx, regrade_id).await?;
    tx.commit().await.map_err(db)?;
    Ok(Committed {
        changed: staged + changed_at_commit,
        graded_at_commit,
        switched: true,
    })
}

/// Grades under `book` every current record no map task staged at its current version (its
/// score changed after the map read it, or it is new) and stores the grades that differ.
/// Returns how many were graded, how many of those changed, and their students.
async fn grade_unstaged(
    conn: &mut PgConnection,
    regrade_id: i64,
    book: &PolicyBook,
) -> PortResult<(u64, u64, BTreeSet<String>)> {
    let rows = sqlx::query(&format!(
        "{CURRENT_ROWS} WHERE NOT EXISTS (SELECT 1 FROM regrade_grades g \
         WHERE g.regrade_id = $1 AND {SAME_RECORD})"
    ))
    .bind(regrade_id)
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    let rows = rows
        .iter()
        .map(graded_row)
        .collect::<PortResult<Vec<RegradeRow>>>()?;
    let students: BTreeSet<String> = rows.iter().map(|r| r.matric.as_str().to_string()).collect();
    let mut changed: Vec<(&RegradeRow, String, u8)> = Vec::new();
    for row in &rows {
        let (g, p) = grade(book, row);
        if g != row.grade || p != row.points {
            changed.push((row, g, p));
        }
    }
    if !changed.is_empty() {
        let code: Vec<&str> = changed.iter().map(|(r, _, _)| r.course.as_str()).collect();
        let session: Vec<i32> = changed
            .iter()
            .map(|(r, _, _)| i32::from(r.session.start_year()))
            .collect();
        let semester: Vec<i32> = changed
            .iter()
            .map(|(r, _, _)| i32::from(r.semester.number()))
            .collect();
        let matric: Vec<&str> = changed.iter().map(|(r, _, _)| r.matric.as_str()).collect();
        let version: Vec<i32> = changed
            .iter()
            .map(|(r, _, _)| i32::try_from(r.score_version).unwrap_or(i32::MAX))
            .collect();
        let grades: Vec<&str> = changed.iter().map(|(_, g, _)| g.as_str()).collect();
        let points: Vec<i32> = changed.iter().map(|(_, _, p)| i32::from(*p)).collect();
        sqlx::query(
            "UPDATE current_scores v SET grade = x.g, points = x.p FROM UNNEST($1::text[], \
             $2::int4[], $3::int4[], $4::text[], $5::int4[], $6::text[], $7::int4[]) \
             AS x(c, s, t, m, ver, g, p) WHERE v.course_code = x.c AND v.session = x.s \
             AND v.semester = x.t AND v.matric_no = x.m AND v.version = x.ver",
        )
        .bind(code)
        .bind(session)
        .bind(semester)
        .bind(matric)
        .bind(version)
        .bind(grades)
        .bind(points)
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    }
    Ok((rows.len() as u64, changed.len() as u64, students))
}
