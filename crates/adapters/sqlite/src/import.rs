//! The directory's bulk upserts (imports). Each call is one transaction and one statement per table
//! (rows travel as a JSON array read by `json_each`), so importing 10,000 students is one
//! round trip. References are checked first so a bad row is named in the error; an upsert
//! must never replace a row by deleting it (that would cascade or orphan its dependants).

use crate::error::db;
use crate::rows::json_list;
use crate::SqliteStore;
use eportal_core::model::{
    Allocation, Course, Department, Faculty, Institution, Programme, Registration, Staff, Student,
};
use eportal_core::GradingPolicy;
use eportal_ports::error::PortResult;
use eportal_ports::PortError;
use serde_json::json;
use sqlx::SqliteConnection;

/// Fails with a message naming the rows whose `key` is not a `col` of `table`.
async fn check_refs<R>(
    conn: &mut SqliteConnection,
    rows: &[R],
    table: &str,
    col: &str,
    key: impl Fn(&R) -> String,
    describe: impl Fn(&R) -> String,
) -> PortResult<()> {
    let keys: Vec<String> = rows.iter().map(&key).collect();
    let sql = format!(
        "SELECT DISTINCT value FROM json_each(?1) WHERE value NOT IN (SELECT {col} FROM {table})"
    );
    let missing: Vec<String> = sqlx::query_scalar(&sql)
        .bind(json_list(&keys))
        .fetch_all(&mut *conn)
        .await
        .map_err(db)?;
    if missing.is_empty() {
        return Ok(());
    }
    let offenders: Vec<String> = rows
        .iter()
        .filter(|r| missing.contains(&key(r)))
        .map(|r| {
            format!(
                "{} refers to {} '{}'",
                describe(r),
                target_name(table),
                key(r)
            )
        })
        .collect();
    let shown = offenders
        .iter()
        .take(3)
        .cloned()
        .collect::<Vec<_>>()
        .join("; ");
    let more = offenders.len().saturating_sub(3);
    let tail = if more > 0 {
        format!(" (and {more} more)")
    } else {
        String::new()
    };
    Err(PortError::Invalid(format!(
        "{shown}{tail}, which does not exist; nothing was saved"
    )))
}

fn target_name(table: &str) -> &str {
    match table {
        "faculties" => "faculty",
        "departments" => "department",
        "programmes" => "programme",
        "students" => "student",
        "courses" => "course",
        "staff" => "staff member",
        other => other,
    }
}

impl SqliteStore {
    /// Runs one `INSERT … SELECT … FROM json_each(?1) … ON CONFLICT DO UPDATE` in `conn`.
    async fn upsert_json(
        conn: &mut SqliteConnection,
        sql: &str,
        rows: Vec<serde_json::Value>,
    ) -> PortResult<u64> {
        sqlx::query(sql)
            .bind(json_list(&rows))
            .execute(&mut *conn)
            .await
            .map(|r| r.rows_affected())
            .map_err(db)
    }

    pub(crate) async fn put_institution_row(
        &self,
        inst: &Institution,
        policy: &GradingPolicy,
    ) -> PortResult<()> {
        let json = serde_json::to_string(policy).expect("policies always serialise");
        let mut tx = self.begin().await?;
        // The policy column keeps the first policy only: later ones are policy books.
        sqlx::query(
            "INSERT INTO institution (id, name, short_name, policy) VALUES (1, ?1, ?2, ?3) \
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, \
             short_name = excluded.short_name",
        )
        .bind(&inst.name)
        .bind(&inst.short_name)
        .bind(&json)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        let mut book = eportal_core::PolicyBook::single(policy.clone());
        book.version = 1;
        sqlx::query(
            "INSERT INTO policy_books (version, book, created_at_ms, created_by, activated_at_ms) \
             SELECT 1, ?1, ?2, 'institution', ?2 WHERE NOT EXISTS (SELECT 1 FROM policy_books)",
        )
        .bind(book.to_json())
        .bind(eportal_ports::now_ms())
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)
    }

    pub(crate) async fn upsert_faculty_rows(&self, rows: &[Faculty]) -> PortResult<u64> {
        let mut tx = self.begin().await?;
        let n = Self::upsert_json(
            &mut tx,
            "INSERT INTO faculties (code, name) \
             SELECT value->>'code', value->>'name' FROM json_each(?1) WHERE true \
             ON CONFLICT (code) DO UPDATE SET name = excluded.name",
            rows.iter().map(|r| json!(r)).collect(),
        )
        .await?;
        tx.commit().await.map_err(db)?;
        Ok(n)
    }

    pub(crate) async fn upsert_department_rows(&self, rows: &[Department]) -> PortResult<u64> {
        let mut tx = self.begin().await?;
        check_refs(
            &mut tx,
            rows,
            "faculties",
            "code",
            |r| r.faculty_code.clone(),
            |r| format!("department {}", r.code),
        )
        .await?;
        let n = Self::upsert_json(
            &mut tx,
            "INSERT INTO departments (code, name, faculty_code) \
             SELECT value->>'code', value->>'name', value->>'faculty_code' \
             FROM json_each(?1) WHERE true \
             ON CONFLICT (code) DO UPDATE SET name = excluded.name, \
             faculty_code = excluded.faculty_code",
            rows.iter().map(|r| json!(r)).collect(),
        )
        .await?;
        tx.commit().await.map_err(db)?;
        Ok(n)
    }

    pub(crate) async fn upsert_programme_rows(&self, rows: &[Programme]) -> PortResult<u64> {
        let mut tx = self.begin().await?;
        check_refs(
            &mut tx,
            rows,
            "departments",
            "code",
            |r| r.department_code.clone(),
            |r| format!("programme {}", r.code),
        )
        .await?;
        let n = Self::upsert_json(
            &mut tx,
            "INSERT INTO programmes (code, name, department_code, duration_years) \
             SELECT value->>'code', value->>'name', value->>'department_code', \
             value->>'duration_years' FROM json_each(?1) WHERE true \
             ON CONFLICT (code) DO UPDATE SET name = excluded.name, \
             department_code = excluded.department_code, duration_years = excluded.duration_years",
            rows.iter().map(|r| json!(r)).collect(),
        )
        .await?;
        tx.commit().await.map_err(db)?;
        Ok(n)
    }

    pub(crate) async fn upsert_student_rows(&self, rows: &[Student]) -> PortResult<u64> {
        let mut tx = self.begin().await?;
        check_refs(
            &mut tx,
            rows,
            "programmes",
            "code",
            |r| r.programme_code.clone(),
            |r| format!("student {}", r.matric_no),
        )
        .await?;
        let json = rows
            .iter()
            .map(|r| {
                json!([
                    r.matric_no.as_str(),
                    r.surname,
                    r.first_name,
                    r.programme_code,
                    r.level,
                    r.entry_session.start_year()
                ])
            })
            .collect();
        let n = Self::upsert_json(
            &mut tx,
            "INSERT INTO students (matric_no, surname, first_name, programme_code, level, \
             entry_session) SELECT value->>0, value->>1, value->>2, value->>3, value->>4, \
             value->>5 FROM json_each(?1) WHERE true \
             ON CONFLICT (matric_no) DO UPDATE SET surname = excluded.surname, \
             first_name = excluded.first_name, programme_code = excluded.programme_code, \
             level = excluded.level, entry_session = excluded.entry_session",
            json,
        )
        .await?;
        tx.commit().await.map_err(db)?;
        Ok(n)
    }

    pub(crate) async fn upsert_staff_rows(&self, rows: &[Staff]) -> PortResult<u64> {
        let mut tx = self.begin().await?;
        check_refs(
            &mut tx,
            rows,
            "departments",
            "code",
            |r| r.department_code.clone(),
            |r| format!("staff member {}", r.staff_id),
        )
        .await?;
        let json: Vec<serde_json::Value> = rows.iter().map(|r| json!(r)).collect();
        let n = Self::upsert_json(
            &mut tx,
            "INSERT INTO staff (staff_id, name, department_code) \
             SELECT value->>'staff_id', value->>'name', value->>'department_code' \
             FROM json_each(?1) WHERE true \
             ON CONFLICT (staff_id) DO UPDATE SET name = excluded.name, \
             department_code = excluded.department_code",
            json.clone(),
        )
        .await?;
        // Roles are replaced, not merged: the import file is the truth about them.
        Self::upsert_json(
            &mut tx,
            "DELETE FROM staff_roles WHERE staff_id IN \
             (SELECT value->>'staff_id' FROM json_each(?1))",
            json.clone(),
        )
        .await?;
        Self::upsert_json(
            &mut tx,
            "INSERT INTO staff_roles (staff_id, role) \
             SELECT s.value->>'staff_id', r.value FROM json_each(?1) s, \
             json_each(s.value->'roles') r WHERE true ON CONFLICT DO NOTHING",
            json,
        )
        .await?;
        tx.commit().await.map_err(db)?;
        Ok(n)
    }

    pub(crate) async fn upsert_course_rows(&self, rows: &[Course]) -> PortResult<u64> {
        let mut tx = self.begin().await?;
        check_refs(
            &mut tx,
            rows,
            "departments",
            "code",
            |r| r.department_code.clone(),
            |r| format!("course {}", r.code),
        )
        .await?;
        let json = rows
            .iter()
            .map(|r| {
                json!([
                    r.code.as_str(),
                    r.title,
                    r.units,
                    r.department_code,
                    r.level,
                    r.semester.number()
                ])
            })
            .collect();
        let n = Self::upsert_json(
            &mut tx,
            "INSERT INTO courses (code, title, units, department_code, level, semester) \
             SELECT value->>0, value->>1, value->>2, value->>3, value->>4, value->>5 \
             FROM json_each(?1) WHERE true \
             ON CONFLICT (code) DO UPDATE SET title = excluded.title, units = excluded.units, \
             department_code = excluded.department_code, level = excluded.level, \
             semester = excluded.semester",
            json,
        )
        .await?;
        tx.commit().await.map_err(db)?;
        Ok(n)
    }

    pub(crate) async fn upsert_allocation_rows(&self, rows: &[Allocation]) -> PortResult<u64> {
        let mut tx = self.begin().await?;
        let who = |r: &Allocation| format!("the allocation of {} {}", r.course_code, r.session);
        check_refs(
            &mut tx,
            rows,
            "courses",
            "code",
            |r| r.course_code.to_string(),
            who,
        )
        .await?;
        check_refs(
            &mut tx,
            rows,
            "staff",
            "staff_id",
            |r| r.staff_id.clone(),
            who,
        )
        .await?;
        let json = rows
            .iter()
            .map(|r| {
                json!([
                    r.course_code.as_str(),
                    r.session.start_year(),
                    r.semester.number(),
                    r.staff_id
                ])
            })
            .collect();
        let n = Self::upsert_json(
            &mut tx,
            "INSERT INTO allocations (course_code, session, semester, staff_id) \
             SELECT value->>0, value->>1, value->>2, value->>3 FROM json_each(?1) WHERE true \
             ON CONFLICT DO NOTHING",
            json,
        )
        .await?;
        tx.commit().await.map_err(db)?;
        Ok(n)
    }

    pub(crate) async fn upsert_registration_rows(&self, rows: &[Registration]) -> PortResult<u64> {
        let mut tx = self.begin().await?;
        let who = |r: &Registration| {
            format!(
                "the registration of {} for {} {}",
                r.matric_no, r.course_code, r.session
            )
        };
        check_refs(
            &mut tx,
            rows,
            "students",
            "matric_no",
            |r| r.matric_no.to_string(),
            who,
        )
        .await?;
        check_refs(
            &mut tx,
            rows,
            "courses",
            "code",
            |r| r.course_code.to_string(),
            who,
        )
        .await?;
        let json = rows
            .iter()
            .map(|r| {
                json!([
                    r.course_code.as_str(),
                    r.session.start_year(),
                    r.semester.number(),
                    r.matric_no.as_str()
                ])
            })
            .collect();
        let n = Self::upsert_json(
            &mut tx,
            "INSERT INTO registrations (course_code, session, semester, matric_no) \
             SELECT value->>0, value->>1, value->>2, value->>3 FROM json_each(?1) WHERE true \
             ON CONFLICT DO NOTHING",
            json,
        )
        .await?;
        tx.commit().await.map_err(db)?;
        Ok(n)
    }
}
