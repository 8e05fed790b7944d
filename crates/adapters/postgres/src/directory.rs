//! The university's people, courses and registrations in PostgreSQL: the institution and
//! its grading policy (the default of the active policy book), lookups and rosters. The bulk upserts live in `import`.
//!
//! Must never hand back a row it could not re-validate as a domain value.

use crate::convert::{self, get, term_key};
use crate::error::db;
use crate::policies::{read_book, ACTIVE_BOOK};
use crate::PgStore;
use async_trait::async_trait;
use eportal_core::model::{
    Allocation, Course, CourseTerm, Department, Faculty, Institution, Programme, Registration,
    Staff, Student,
};
use eportal_core::sheet::Roster;
use eportal_core::{CourseCode, GradingPolicy, MatricNo, PolicyBook, Role};
use eportal_ports::error::PortResult;
use eportal_ports::{now_ms, Directory, PortError};
use sqlx::postgres::PgRow;

fn student(row: &PgRow) -> PortResult<Student> {
    Ok(Student {
        matric_no: convert::matric(&get::<String>(row, "matric_no")?)?,
        surname: get(row, "surname")?,
        first_name: get(row, "first_name")?,
        programme_code: get(row, "programme_code")?,
        level: convert::small("level", get(row, "level")?)?,
        entry_session: convert::session(get(row, "entry_session")?)?,
    })
}

fn course(row: &PgRow) -> PortResult<Course> {
    Ok(Course {
        code: convert::course_code(&get::<String>(row, "code")?)?,
        title: get(row, "title")?,
        units: convert::small("course units", get(row, "units")?)?,
        department_code: get(row, "department_code")?,
        level: convert::small("level", get(row, "level")?)?,
        semester: convert::semester(get(row, "semester")?)?,
    })
}

const COURSE_COLUMNS: &str = "code, title, units, department_code, level, semester";
const STUDENT_COLUMNS: &str =
    "matric_no, surname, first_name, programme_code, level, entry_session";

#[async_trait]
impl Directory for PgStore {
    async fn put_institution(&self, inst: &Institution, policy: &GradingPolicy) -> PortResult<()> {
        policy
            .validate()
            .map_err(|e| PortError::Invalid(format!("grading policy: {e}")))?;
        let policy_json = serde_json::to_string(policy)
            .map_err(|e| PortError::Invalid(format!("grading policy: {e}")))?;
        let first_book = PolicyBook {
            version: 1,
            ..PolicyBook::single(policy.clone())
        };
        let mut tx = self.pool.begin().await.map_err(db)?;
        sqlx::query(
            "INSERT INTO institution (id, name, short_name, policy_json) VALUES (1, $1, $2, $3) \
             ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, \
             short_name = EXCLUDED.short_name, policy_json = EXCLUDED.policy_json",
        )
        .bind(&inst.name)
        .bind(&inst.short_name)
        .bind(policy_json)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        // Only the first policy becomes a book (version 1, active at once); later ones change
        // nothing but the institution row: a policy changes through a regrade. Two first
        // calls at once agree through the primary key.
        let now = now_ms();
        sqlx::query(
            "INSERT INTO policy_books (version, book, created_at_ms, created_by, activated_at_ms) \
             SELECT 1, $1, $2, 'institution', $2 WHERE NOT EXISTS (SELECT 1 FROM policy_books) \
             ON CONFLICT (version) DO NOTHING",
        )
        .bind(first_book.to_json())
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)
    }

    async fn institution(&self) -> PortResult<Option<(Institution, GradingPolicy)>> {
        let sql = format!(
            "SELECT name, short_name, policy_json, ({ACTIVE_BOOK}) AS book \
             FROM institution WHERE id = 1"
        );
        let row = sqlx::query(&sql)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?;
        let Some(row) = row else { return Ok(None) };
        let policy = match get::<Option<String>>(&row, "book")? {
            Some(book) => read_book(&book)?.default,
            None => {
                let json: String = get(&row, "policy_json")?;
                serde_json::from_str(&json).map_err(|e| {
                    PortError::Invalid(format!("stored grading policy is not valid: {e}"))
                })?
            }
        };
        let inst = Institution {
            name: get(&row, "name")?,
            short_name: get(&row, "short_name")?,
        };
        Ok(Some((inst, policy)))
    }

    async fn upsert_faculties(&self, rows: &[Faculty]) -> PortResult<u64> {
        self.import_faculties(rows).await
    }

    async fn upsert_departments(&self, rows: &[Department]) -> PortResult<u64> {
        self.import_departments(rows).await
    }

    async fn upsert_programmes(&self, rows: &[Programme]) -> PortResult<u64> {
        self.import_programmes(rows).await
    }

    async fn upsert_students(&self, rows: &[Student]) -> PortResult<u64> {
        self.import_students(rows).await
    }

    async fn upsert_staff(&self, rows: &[Staff]) -> PortResult<u64> {
        self.import_staff(rows).await
    }

    async fn upsert_courses(&self, rows: &[Course]) -> PortResult<u64> {
        self.import_courses(rows).await
    }

    async fn upsert_allocations(&self, rows: &[Allocation]) -> PortResult<u64> {
        self.import_allocations(rows).await
    }

    async fn upsert_registrations(&self, rows: &[Registration]) -> PortResult<u64> {
        self.import_registrations(rows).await
    }

    async fn faculties(&self) -> PortResult<Vec<Faculty>> {
        let rows = sqlx::query("SELECT code, name FROM faculties ORDER BY code")
            .fetch_all(&self.pool)
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
            .fetch_all(&self.pool)
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
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.iter()
            .map(|r| {
                Ok(Programme {
                    code: get(r, "code")?,
                    name: get(r, "name")?,
                    department_code: get(r, "department_code")?,
                    duration_years: convert::small("duration", get(r, "duration_years")?)?,
                })
            })
            .collect()
    }

    async fn students(&self, limit: u32, offset: u32) -> PortResult<Vec<Student>> {
        let sql =
            format!("SELECT {STUDENT_COLUMNS} FROM students ORDER BY matric_no LIMIT $1 OFFSET $2");
        let rows = sqlx::query(&sql)
            .bind(i64::from(limit))
            .bind(i64::from(offset))
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        rows.iter().map(student).collect()
    }

    async fn count_students(&self) -> PortResult<u64> {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM students")
            .fetch_one(&self.pool)
            .await
            .map_err(db)?;
        convert::count("student count", n)
    }

    async fn student(&self, matric: &MatricNo) -> PortResult<Option<Student>> {
        let sql = format!("SELECT {STUDENT_COLUMNS} FROM students WHERE matric_no = $1");
        let row = sqlx::query(&sql)
            .bind(matric.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?;
        row.as_ref().map(student).transpose()
    }

    async fn staff(&self, staff_id: &str) -> PortResult<Option<Staff>> {
        let row = sqlx::query(
            "SELECT staff_id, name, department_code, roles FROM staff WHERE staff_id = $1",
        )
        .bind(staff_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        let Some(r) = row else { return Ok(None) };
        Ok(Some(Staff {
            staff_id: get(&r, "staff_id")?,
            name: get(&r, "name")?,
            department_code: get(&r, "department_code")?,
            roles: convert::roles(&get::<Vec<String>>(&r, "roles")?)?,
        }))
    }

    async fn staff_with_role(&self, role: Role) -> PortResult<Vec<Staff>> {
        let rows = sqlx::query(
            "SELECT staff_id, name, department_code, roles FROM staff \
             WHERE $1 = ANY (roles) ORDER BY staff_id",
        )
        .bind(role.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.iter()
            .map(|r| {
                Ok(Staff {
                    staff_id: get(r, "staff_id")?,
                    name: get(r, "name")?,
                    department_code: get(r, "department_code")?,
                    roles: convert::roles(&get::<Vec<String>>(r, "roles")?)?,
                })
            })
            .collect()
    }

    async fn course(&self, code: &CourseCode) -> PortResult<Option<Course>> {
        let sql = format!("SELECT {COURSE_COLUMNS} FROM courses WHERE code = $1");
        let row = sqlx::query(&sql)
            .bind(code.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?;
        row.as_ref().map(course).transpose()
    }

    async fn courses(&self) -> PortResult<Vec<Course>> {
        let sql = format!("SELECT {COURSE_COLUMNS} FROM courses ORDER BY code");
        let rows = sqlx::query(&sql).fetch_all(&self.pool).await.map_err(db)?;
        rows.iter().map(course).collect()
    }

    async fn allocations(&self, term: &CourseTerm) -> PortResult<Vec<String>> {
        let (code, session, semester) = term_key(term);
        sqlx::query_scalar(
            "SELECT staff_id FROM allocations WHERE course_code = $1 AND session = $2 \
             AND semester = $3 ORDER BY staff_id",
        )
        .bind(code)
        .bind(session)
        .bind(semester)
        .fetch_all(&self.pool)
        .await
        .map_err(db)
    }

    async fn allocations_of(&self, staff_id: &str) -> PortResult<Vec<CourseTerm>> {
        let rows = sqlx::query(
            "SELECT course_code, session, semester FROM allocations WHERE staff_id = $1 \
             ORDER BY session, semester, course_code",
        )
        .bind(staff_id)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.iter().map(convert::term).collect()
    }

    async fn roster(&self, term: &CourseTerm, matrics: &[MatricNo]) -> PortResult<Roster> {
        let (code, session, semester) = term_key(term);
        let wanted: Vec<&str> = matrics.iter().map(|m| m.as_str()).collect();
        let rows = sqlx::query(
            "SELECT s.matric_no, s.entry_session, (r.matric_no IS NOT NULL) AS registered \
             FROM students s \
             LEFT JOIN registrations r ON r.matric_no = s.matric_no AND r.course_code = $2 \
             AND r.session = $3 AND r.semester = $4 \
             WHERE s.matric_no = ANY($1::text[])",
        )
        .bind(wanted)
        .bind(code)
        .bind(session)
        .bind(semester)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        let mut roster = Roster::default();
        for r in &rows {
            let m = convert::matric(&get::<String>(r, "matric_no")?)?;
            if get::<bool>(r, "registered")? {
                roster.registered.insert(m.clone());
            }
            roster
                .entry
                .insert(m.clone(), convert::session(get(r, "entry_session")?)?);
            roster.known.insert(m);
        }
        Ok(roster)
    }

    async fn registered(&self, term: &CourseTerm) -> PortResult<Vec<MatricNo>> {
        let (code, session, semester) = term_key(term);
        let rows: Vec<String> = sqlx::query_scalar(
            "SELECT matric_no FROM registrations WHERE course_code = $1 AND session = $2 \
             AND semester = $3 ORDER BY matric_no",
        )
        .bind(code)
        .bind(session)
        .bind(semester)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.iter().map(|m| convert::matric(m)).collect()
    }

    async fn registered_students(&self, term: &CourseTerm) -> PortResult<Vec<Student>> {
        let (code, session, semester) = term_key(term);
        let sql = format!(
            "SELECT {STUDENT_COLUMNS} FROM students WHERE matric_no IN \
             (SELECT matric_no FROM registrations \
              WHERE course_code = $1 AND session = $2 AND semester = $3) \
             ORDER BY matric_no"
        );
        let rows = sqlx::query(&sql)
            .bind(code)
            .bind(session)
            .bind(semester)
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        rows.iter().map(student).collect()
    }
}
