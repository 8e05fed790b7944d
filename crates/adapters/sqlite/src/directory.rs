//! The directory port: lookups of people, courses and registrations, and the upserts in
//! `import.rs`. Reads use the read pool and must never write.

use crate::error::db;
use crate::rows::{course_code, get, json_list, matric, roles, semester, session, small, term_of};
use crate::SqliteStore;
use async_trait::async_trait;
use eportal_core::model::{
    Allocation, Course, CourseTerm, Department, Faculty, Institution, Programme, Registration,
    Staff, Student,
};
use eportal_core::sheet::Roster;
use eportal_core::{CourseCode, GradingPolicy, MatricNo, Role};
use eportal_ports::error::PortResult;
use eportal_ports::Directory;
use sqlx::sqlite::SqliteRow;

fn student_of(row: &SqliteRow) -> PortResult<Student> {
    Ok(Student {
        matric_no: matric(&get::<String>(row, "matric_no")?)?,
        surname: get(row, "surname")?,
        first_name: get(row, "first_name")?,
        programme_code: get(row, "programme_code")?,
        level: small("level", get(row, "level")?)?,
        entry_session: session(get(row, "entry_session")?)?,
    })
}

fn course_of(row: &SqliteRow) -> PortResult<Course> {
    Ok(Course {
        code: course_code(&get::<String>(row, "code")?)?,
        title: get(row, "title")?,
        units: small("units", get(row, "units")?)?,
        department_code: get(row, "department_code")?,
        level: small("level", get(row, "level")?)?,
        semester: semester(get(row, "semester")?)?,
    })
}

const STUDENT_COLUMNS: &str =
    "matric_no, surname, first_name, programme_code, level, entry_session";
const COURSE_COLUMNS: &str = "code, title, units, department_code, level, semester";

#[async_trait]
impl Directory for SqliteStore {
    async fn put_institution(&self, inst: &Institution, policy: &GradingPolicy) -> PortResult<()> {
        self.put_institution_row(inst, policy).await
    }

    async fn institution(&self) -> PortResult<Option<(Institution, GradingPolicy)>> {
        let row = sqlx::query("SELECT name, short_name, policy FROM institution WHERE id = 1")
            .fetch_optional(&self.read)
            .await
            .map_err(db)?;
        let Some(row) = row else { return Ok(None) };
        let policy = match crate::policies::active(&self.read).await? {
            Some(book) => book.default,
            None => serde_json::from_str(&get::<String>(&row, "policy")?)
                .map_err(|e| crate::error::corrupt("grading policy", e))?,
        };
        let inst = Institution {
            name: get(&row, "name")?,
            short_name: get(&row, "short_name")?,
        };
        Ok(Some((inst, policy)))
    }

    async fn upsert_faculties(&self, rows: &[Faculty]) -> PortResult<u64> {
        self.upsert_faculty_rows(rows).await
    }
    async fn upsert_departments(&self, rows: &[Department]) -> PortResult<u64> {
        self.upsert_department_rows(rows).await
    }
    async fn upsert_programmes(&self, rows: &[Programme]) -> PortResult<u64> {
        self.upsert_programme_rows(rows).await
    }
    async fn upsert_students(&self, rows: &[Student]) -> PortResult<u64> {
        self.upsert_student_rows(rows).await
    }
    async fn upsert_staff(&self, rows: &[Staff]) -> PortResult<u64> {
        self.upsert_staff_rows(rows).await
    }
    async fn upsert_courses(&self, rows: &[Course]) -> PortResult<u64> {
        self.upsert_course_rows(rows).await
    }
    async fn upsert_allocations(&self, rows: &[Allocation]) -> PortResult<u64> {
        self.upsert_allocation_rows(rows).await
    }
    async fn upsert_registrations(&self, rows: &[Registration]) -> PortResult<u64> {
        self.upsert_registration_rows(rows).await
    }

    async fn faculties(&self) -> PortResult<Vec<Faculty>> {
        let rows = sqlx::query("SELECT code, name FROM faculties ORDER BY code")
            .fetch_all(&self.read)
            .await
            .map_err(db)?;
        rows.iter()
            .map(|r| {
                Ok(Faculty {
                    code: get(r, "code")?,
                    name: get(r, "name")?,
                })
            })
            .collect()
    }

    async fn departments(&self) -> PortResult<Vec<Department>> {
        let rows = sqlx::query("SELECT code, name, faculty_code FROM departments ORDER BY code")
            .fetch_all(&self.read)
            .await
            .map_err(db)?;
        rows.iter()
            .map(|r| {
                Ok(Department {
                    code: get(r, "code")?,
                    name: get(r, "name")?,
                    faculty_code: get(r, "faculty_code")?,
                })
            })
            .collect()
    }

    async fn programmes(&self) -> PortResult<Vec<Programme>> {
        let rows = sqlx::query(
            "SELECT code, name, department_code, duration_years FROM programmes ORDER BY code",
        )
        .fetch_all(&self.read)
        .await
        .map_err(db)?;
        rows.iter()
            .map(|r| {
                Ok(Programme {
                    code: get(r, "code")?,
                    name: get(r, "name")?,
                    department_code: get(r, "department_code")?,
                    duration_years: small("duration_years", get(r, "duration_years")?)?,
                })
            })
            .collect()
    }

    async fn students(&self, limit: u32, offset: u32) -> PortResult<Vec<Student>> {
        let sql =
            format!("SELECT {STUDENT_COLUMNS} FROM students ORDER BY matric_no LIMIT ?1 OFFSET ?2");
        let rows = sqlx::query(&sql)
            .bind(limit as i64)
            .bind(offset as i64)
            .fetch_all(&self.read)
            .await
            .map_err(db)?;
        rows.iter().map(student_of).collect()
    }

    async fn count_students(&self) -> PortResult<u64> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM students")
            .fetch_one(&self.read)
            .await
            .map_err(db)?;
        Ok(n as u64)
    }

    async fn student(&self, m: &MatricNo) -> PortResult<Option<Student>> {
        let sql = format!("SELECT {STUDENT_COLUMNS} FROM students WHERE matric_no = ?1");
        let row = sqlx::query(&sql)
            .bind(m.as_str())
            .fetch_optional(&self.read)
            .await
            .map_err(db)?;
        row.as_ref().map(student_of).transpose()
    }

    async fn staff(&self, staff_id: &str) -> PortResult<Option<Staff>> {
        let row = sqlx::query(
            "SELECT staff_id, name, department_code, \
             (SELECT group_concat(role) FROM staff_roles r WHERE r.staff_id = s.staff_id) \
             AS roles FROM staff s WHERE staff_id = ?1",
        )
        .bind(staff_id)
        .fetch_optional(&self.read)
        .await
        .map_err(db)?;
        let Some(r) = row else { return Ok(None) };
        let mut roles = roles(&get::<Option<String>>(&r, "roles")?.unwrap_or_default())?;
        roles.sort();
        Ok(Some(Staff {
            staff_id: get(&r, "staff_id")?,
            name: get(&r, "name")?,
            department_code: get(&r, "department_code")?,
            roles,
        }))
    }

    async fn staff_with_role(&self, role: Role) -> PortResult<Vec<Staff>> {
        let rows = sqlx::query(
            "SELECT staff_id, name, department_code, \
             (SELECT group_concat(role) FROM staff_roles r WHERE r.staff_id = s.staff_id) \
             AS roles FROM staff s WHERE EXISTS \
             (SELECT 1 FROM staff_roles h WHERE h.staff_id = s.staff_id AND h.role = ?1) \
             ORDER BY staff_id",
        )
        .bind(role.as_str())
        .fetch_all(&self.read)
        .await
        .map_err(db)?;
        rows.iter()
            .map(|r| {
                let mut roles = roles(&get::<Option<String>>(r, "roles")?.unwrap_or_default())?;
                roles.sort();
                Ok(Staff {
                    staff_id: get(r, "staff_id")?,
                    name: get(r, "name")?,
                    department_code: get(r, "department_code")?,
                    roles,
                })
            })
            .collect()
    }

    async fn course(&self, code: &CourseCode) -> PortResult<Option<Course>> {
        let sql = format!("SELECT {COURSE_COLUMNS} FROM courses WHERE code = ?1");
        let row = sqlx::query(&sql)
            .bind(code.as_str())
            .fetch_optional(&self.read)
            .await
            .map_err(db)?;
        row.as_ref().map(course_of).transpose()
    }

    async fn courses(&self) -> PortResult<Vec<Course>> {
        let sql = format!("SELECT {COURSE_COLUMNS} FROM courses ORDER BY code");
        let rows = sqlx::query(&sql).fetch_all(&self.read).await.map_err(db)?;
        rows.iter().map(course_of).collect()
    }

    async fn allocations(&self, term: &CourseTerm) -> PortResult<Vec<String>> {
        sqlx::query_scalar(
            "SELECT staff_id FROM allocations \
             WHERE course_code = ?1 AND session = ?2 AND semester = ?3 ORDER BY staff_id",
        )
        .bind(term.course_code.as_str())
        .bind(term.session.start_year() as i64)
        .bind(term.semester.number() as i64)
        .fetch_all(&self.read)
        .await
        .map_err(db)
    }

    async fn allocations_of(&self, staff_id: &str) -> PortResult<Vec<CourseTerm>> {
        let rows = sqlx::query(
            "SELECT course_code, session, semester FROM allocations WHERE staff_id = ?1 \
             ORDER BY session, semester, course_code",
        )
        .bind(staff_id)
        .fetch_all(&self.read)
        .await
        .map_err(db)?;
        rows.iter().map(term_of).collect()
    }

    async fn roster(&self, term: &CourseTerm, matrics: &[MatricNo]) -> PortResult<Roster> {
        // One row holding every student as JSON, not a row each: a sheet's 2,000 students
        // would otherwise cross from the reader's thread one message at a time.
        let found: String = sqlx::query_scalar(
            "SELECT json_group_array(json_array(s.matric_no, s.entry_session, \
               EXISTS (SELECT 1 FROM registrations r \
               WHERE r.course_code = ?2 AND r.session = ?3 AND r.semester = ?4 \
               AND r.matric_no = s.matric_no))) \
             FROM students s WHERE s.matric_no IN (SELECT value FROM json_each(?1))",
        )
        .bind(json_list(matrics))
        .bind(term.course_code.as_str())
        .bind(term.session.start_year() as i64)
        .bind(term.semester.number() as i64)
        .fetch_one(&self.read)
        .await
        .map_err(db)?;
        let found: Vec<(String, i64, i64)> =
            serde_json::from_str(&found).map_err(|e| crate::error::corrupt("roster", e))?;
        let mut roster = Roster::default();
        for (m, entry, registered) in found {
            let m = matric(&m)?;
            if registered != 0 {
                roster.registered.insert(m.clone());
            }
            roster.entry.insert(m.clone(), session(entry)?);
            roster.known.insert(m);
        }
        Ok(roster)
    }

    async fn registered(&self, term: &CourseTerm) -> PortResult<Vec<MatricNo>> {
        let found: Vec<String> = sqlx::query_scalar(
            "SELECT matric_no FROM registrations \
             WHERE course_code = ?1 AND session = ?2 AND semester = ?3 ORDER BY matric_no",
        )
        .bind(term.course_code.as_str())
        .bind(term.session.start_year() as i64)
        .bind(term.semester.number() as i64)
        .fetch_all(&self.read)
        .await
        .map_err(db)?;
        found.iter().map(|m| matric(m)).collect()
    }

    async fn registered_students(&self, term: &CourseTerm) -> PortResult<Vec<Student>> {
        let sql = format!(
            "SELECT {STUDENT_COLUMNS} FROM students WHERE matric_no IN \
             (SELECT matric_no FROM registrations \
              WHERE course_code = ?1 AND session = ?2 AND semester = ?3) \
             ORDER BY matric_no"
        );
        let rows = sqlx::query(&sql)
            .bind(term.course_code.as_str())
            .bind(term.session.start_year() as i64)
            .bind(term.semester.number() as i64)
            .fetch_all(&self.read)
            .await
            .map_err(db)?;
        rows.iter().map(student_of).collect()
    }
}
