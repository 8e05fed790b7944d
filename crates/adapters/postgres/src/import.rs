//! Bulk writes of the directory: each kind of row is one `INSERT … SELECT FROM
//! UNNEST(arrays) ON CONFLICT` statement, so an import of thousands of rows is one round
//! trip and either all of it lands or none does (a broken reference fails the statement).
//!
//! Must never write half an import, and never send one key twice in a statement (PostgreSQL
//! refuses to update a row twice in one command): rows are reduced to the last per key.

use crate::convert::role_names;
use crate::error::db;
use crate::PgStore;
use eportal_core::model::{
    Allocation, Course, Department, Faculty, Programme, Registration, Staff, Student,
};
use eportal_ports::error::PortResult;
use std::collections::BTreeMap;

/// One row per key, the last one given winning (as if the rows were upserted in order), in
/// key order so concurrent imports lock rows in the same order.
fn last_wins<T, K: Ord>(rows: &[T], key: impl Fn(&T) -> K) -> Vec<&T> {
    let mut by_key = BTreeMap::new();
    for r in rows {
        by_key.insert(key(r), r);
    }
    by_key.into_values().collect()
}

impl PgStore {
    pub(crate) async fn run(
        &self,
        q: sqlx::query::Query<'_, sqlx::Postgres, sqlx::postgres::PgArguments>,
    ) -> PortResult<()> {
        q.execute(&self.pool).await.map(|_| ()).map_err(db)
    }

    pub(crate) async fn import_faculties(&self, rows: &[Faculty]) -> PortResult<u64> {
        let rows = last_wins(rows, |r| r.code.clone());
        if rows.is_empty() {
            return Ok(0);
        }
        let code: Vec<&str> = rows.iter().map(|r| r.code.as_str()).collect();
        let name: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
        self.run(
            sqlx::query(
                "INSERT INTO faculties (code, name) SELECT * FROM UNNEST($1::text[], $2::text[]) \
                 ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name",
            )
            .bind(code)
            .bind(name),
        )
        .await?;
        Ok(rows.len() as u64)
    }

    pub(crate) async fn import_departments(&self, rows: &[Department]) -> PortResult<u64> {
        let rows = last_wins(rows, |r| r.code.clone());
        if rows.is_empty() {
            return Ok(0);
        }
        let code: Vec<&str> = rows.iter().map(|r| r.code.as_str()).collect();
        let name: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
        let faculty: Vec<&str> = rows.iter().map(|r| r.faculty_code.as_str()).collect();
        self.run(
            sqlx::query(
                "INSERT INTO departments (code, name, faculty_code) \
                 SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[]) \
                 ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, \
                 faculty_code = EXCLUDED.faculty_code",
            )
            .bind(code)
            .bind(name)
            .bind(faculty),
        )
        .await?;
        Ok(rows.len() as u64)
    }

    pub(crate) async fn import_programmes(&self, rows: &[Programme]) -> PortResult<u64> {
        let rows = last_wins(rows, |r| r.code.clone());
        if rows.is_empty() {
            return Ok(0);
        }
        let code: Vec<&str> = rows.iter().map(|r| r.code.as_str()).collect();
        let name: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
        let dept: Vec<&str> = rows.iter().map(|r| r.department_code.as_str()).collect();
        let years: Vec<i32> = rows.iter().map(|r| i32::from(r.duration_years)).collect();
        self.run(
            sqlx::query(
                "INSERT INTO programmes (code, name, department_code, duration_years) \
                 SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::int4[]) \
                 ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, \
                 department_code = EXCLUDED.department_code, \
                 duration_years = EXCLUDED.duration_years",
            )
            .bind(code)
            .bind(name)
            .bind(dept)
            .bind(years),
        )
        .await?;
        Ok(rows.len() as u64)
    }

    pub(crate) async fn import_students(&self, rows: &[Student]) -> PortResult<u64> {
        let rows = last_wins(rows, |r| r.matric_no.clone());
        if rows.is_empty() {
            return Ok(0);
        }
        let matric: Vec<&str> = rows.iter().map(|r| r.matric_no.as_str()).collect();
        let surname: Vec<&str> = rows.iter().map(|r| r.surname.as_str()).collect();
        let first: Vec<&str> = rows.iter().map(|r| r.first_name.as_str()).collect();
        let prog: Vec<&str> = rows.iter().map(|r| r.programme_code.as_str()).collect();
        let level: Vec<i32> = rows.iter().map(|r| i32::from(r.level)).collect();
        let entry: Vec<i32> = rows
            .iter()
            .map(|r| i32::from(r.entry_session.start_year()))
            .collect();
        self.run(
            sqlx::query(
                "INSERT INTO students (matric_no, surname, first_name, programme_code, level, \
                 entry_session) SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], \
                 $4::text[], $5::int4[], $6::int4[]) \
                 ON CONFLICT (matric_no) DO UPDATE SET surname = EXCLUDED.surname, \
                 first_name = EXCLUDED.first_name, programme_code = EXCLUDED.programme_code, \
                 level = EXCLUDED.level, entry_session = EXCLUDED.entry_session",
            )
            .bind(matric)
            .bind(surname)
            .bind(first)
            .bind(prog)
            .bind(level)
            .bind(entry),
        )
        .await?;
        self.wrote(crate::stats::Hot::Students, rows.len() as u64);
        Ok(rows.len() as u64)
    }

    pub(crate) async fn import_staff(&self, rows: &[Staff]) -> PortResult<u64> {
        // Roles are a list per person; arrays of arrays do not UNNEST row by row, so each
        // person's roles travel as one comma-joined string (role names never hold commas).
        let rows = last_wins(rows, |r| r.staff_id.clone());
        if rows.is_empty() {
            return Ok(0);
        }
        let id: Vec<&str> = rows.iter().map(|r| r.staff_id.as_str()).collect();
        let name: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
        let dept: Vec<&str> = rows.iter().map(|r| r.department_code.as_str()).collect();
        let roles: Vec<String> = rows
            .iter()
            .map(|r| role_names(&r.roles).join(","))
            .collect();
        self.run(
            sqlx::query(
                "INSERT INTO staff (staff_id, name, department_code, roles) \
                 SELECT i, n, d, COALESCE(string_to_array(NULLIF(r, ''), ','), '{}') \
                 FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[]) AS u(i, n, d, r) \
                 ON CONFLICT (staff_id) DO UPDATE SET name = EXCLUDED.name, \
                 department_code = EXCLUDED.department_code, roles = EXCLUDED.roles",
            )
            .bind(id)
            .bind(name)
            .bind(dept)
            .bind(roles),
        )
        .await?;
        Ok(rows.len() as u64)
    }

    pub(crate) async fn import_courses(&self, rows: &[Course]) -> PortResult<u64> {
        let rows = last_wins(rows, |r| r.code.clone());
        if rows.is_empty() {
            return Ok(0);
        }
        let code: Vec<&str> = rows.iter().map(|r| r.code.as_str()).collect();
        let title: Vec<&str> = rows.iter().map(|r| r.title.as_str()).collect();
        let units: Vec<i32> = rows.iter().map(|r| i32::from(r.units)).collect();
        let dept: Vec<&str> = rows.iter().map(|r| r.department_code.as_str()).collect();
        let level: Vec<i32> = rows.iter().map(|r| i32::from(r.level)).collect();
        let sem: Vec<i32> = rows
            .iter()
            .map(|r| i32::from(r.semester.number()))
            .collect();
        self.run(
            sqlx::query(
                "INSERT INTO courses (code, title, units, department_code, level, semester) \
                 SELECT * FROM UNNEST($1::text[], $2::text[], $3::int4[], $4::text[], \
                 $5::int4[], $6::int4[]) \
                 ON CONFLICT (code) DO UPDATE SET title = EXCLUDED.title, \
                 units = EXCLUDED.units, department_code = EXCLUDED.department_code, \
                 level = EXCLUDED.level, semester = EXCLUDED.semester",
            )
            .bind(code)
            .bind(title)
            .bind(units)
            .bind(dept)
            .bind(level)
            .bind(sem),
        )
        .await?;
        Ok(rows.len() as u64)
    }

    pub(crate) async fn import_allocations(&self, rows: &[Allocation]) -> PortResult<u64> {
        if rows.is_empty() {
            return Ok(0);
        }
        let code: Vec<&str> = rows.iter().map(|r| r.course_code.as_str()).collect();
        let session: Vec<i32> = rows
            .iter()
            .map(|r| i32::from(r.session.start_year()))
            .collect();
        let sem: Vec<i32> = rows
            .iter()
            .map(|r| i32::from(r.semester.number()))
            .collect();
        let staff: Vec<&str> = rows.iter().map(|r| r.staff_id.as_str()).collect();
        self.run(
            sqlx::query(
                "INSERT INTO allocations (course_code, session, semester, staff_id) \
                 SELECT * FROM UNNEST($1::text[], $2::int4[], $3::int4[], $4::text[]) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(code)
            .bind(session)
            .bind(sem)
            .bind(staff),
        )
        .await?;
        Ok(rows.len() as u64)
    }

    pub(crate) async fn import_registrations(&self, rows: &[Registration]) -> PortResult<u64> {
        if rows.is_empty() {
            return Ok(0);
        }
        let code: Vec<&str> = rows.iter().map(|r| r.course_code.as_str()).collect();
        let session: Vec<i32> = rows
            .iter()
            .map(|r| i32::from(r.session.start_year()))
            .collect();
        let sem: Vec<i32> = rows
            .iter()
            .map(|r| i32::from(r.semester.number()))
            .collect();
        let matric: Vec<&str> = rows.iter().map(|r| r.matric_no.as_str()).collect();
        self.run(
            sqlx::query(
                "INSERT INTO registrations (course_code, session, semester, matric_no) \
                 SELECT * FROM UNNEST($1::text[], $2::int4[], $3::int4[], $4::text[]) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(code)
            .bind(session)
            .bind(sem)
            .bind(matric),
        )
        .await?;
        self.wrote(crate::stats::Hot::Registrations, rows.len() as u64);
        Ok(rows.len() as u64)
    }
}
