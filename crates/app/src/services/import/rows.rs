//! The columns of each CSV import kind and how one row becomes one directory record.
//! Pure: no store, no I/O, so every rule about a cell is unit-tested here.
//!
//! A row is refused with the first thing wrong with it, in words a registry officer can act
//! on; this module must never repair a value into a different valid one (a level of `250`
//! is refused, not rounded).

use super::table::{opt, req, ColumnSpec, Row};
use crate::services::auth::normalise_username;
use eportal_core::model::{
    Allocation, Course, Department, Faculty, Programme, Registration, Staff, Student,
};
use eportal_core::{AcademicSession, CourseCode, MatricNo, Role, Semester};

pub const FACULTIES: &[ColumnSpec] =
    &[req("code", &["facultycode"]), req("name", &["facultyname"])];

pub const DEPARTMENTS: &[ColumnSpec] = &[
    req("code", &["departmentcode", "deptcode"]),
    req("name", &["departmentname"]),
    req("faculty", &["facultycode"]),
];

pub const PROGRAMMES: &[ColumnSpec] = &[
    req("code", &["programmecode", "programcode"]),
    req("name", &["programmename", "programname"]),
    req("department", &["departmentcode", "dept", "deptcode"]),
    req("duration_years", &["duration", "years"]),
];

pub const STUDENTS: &[ColumnSpec] = &[
    req(
        "matric_no",
        &["matric", "matricnumber", "regno", "registrationnumber"],
    ),
    req("surname", &["lastname", "familyname"]),
    req("first_name", &["firstname", "othernames", "givenname"]),
    req("programme", &["programmecode", "program", "programcode"]),
    req("level", &[]),
    req("entry_session", &["entryyear", "yearofentry"]),
    opt("password", &[]),
];

pub const STAFF: &[ColumnSpec] = &[
    req("staff_id", &["staffno", "staffnumber"]),
    req("name", &["fullname"]),
    req("department", &["departmentcode", "dept", "deptcode"]),
    req("roles", &["role"]),
    opt("password", &[]),
];

pub const COURSES: &[ColumnSpec] = &[
    req("code", &["coursecode", "course"]),
    req("title", &["coursetitle"]),
    req("units", &["unit", "creditunits", "credits"]),
    req("department", &["departmentcode", "dept", "deptcode"]),
    req("level", &[]),
    req("semester", &[]),
];

pub const ALLOCATIONS: &[ColumnSpec] = &[
    req("course", &["coursecode", "code"]),
    req("session", &[]),
    req("semester", &[]),
    req("staff_id", &["lecturer", "staffno"]),
];

pub const REGISTRATIONS: &[ColumnSpec] = &[
    req("matric_no", &["matric", "matricnumber", "regno"]),
    req("course", &["coursecode", "code"]),
    req("session", &[]),
    req("semester", &[]),
];

/// Shortest initial password accepted in an import file.
pub const MIN_PASSWORD: usize = 8;

/// A faculty, department or programme code: letters and digits (and `-`), upper-cased.
pub fn code(value: &str, what: &str) -> Result<String, String> {
    let c = value.trim().to_ascii_uppercase();
    if c.len() > 16 {
        return Err(format!("{what} code '{c}' is longer than 16 characters"));
    }
    if !c.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-') {
        return Err(format!(
            "{what} code '{}' may contain only letters, digits and '-'",
            value.trim()
        ));
    }
    Ok(c)
}

fn name(value: &str, what: &str) -> Result<String, String> {
    let n = value.split_whitespace().collect::<Vec<_>>().join(" ");
    if n.chars().count() > 200 {
        return Err(format!("{what} is longer than 200 characters"));
    }
    Ok(n)
}

fn level(value: &str) -> Result<u16, String> {
    match value.parse::<u16>() {
        Ok(l) if (100..=700).contains(&l) && l % 100 == 0 => Ok(l),
        _ => Err(format!(
            "level '{value}' should be 100, 200, 300, 400, 500, 600 or 700"
        )),
    }
}

fn units(value: &str) -> Result<u8, String> {
    match value.parse::<u8>() {
        Ok(u) if u <= 12 => Ok(u),
        _ => Err(format!(
            "units '{value}' should be a whole number from 0 to 12"
        )),
    }
}

fn staff_id(value: &str) -> Result<String, String> {
    let id = normalise_username(value);
    if id == "admin" {
        return Err("staff id 'admin' is reserved for the registry administrator".into());
    }
    if id.len() > 32
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '.'))
    {
        return Err(format!(
            "staff id '{value}' should be at most 32 letters, digits, '/', '-' or '.'"
        ));
    }
    Ok(id)
}

fn roles(value: &str) -> Result<Vec<Role>, String> {
    let mut out = Vec::new();
    for part in value
        .split([';', '|', ','])
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        let role = Role::parse(part).map_err(|e| e.to_string())?;
        if role == Role::Student {
            return Err("staff cannot hold the student role".into());
        }
        if !out.contains(&role) {
            out.push(role);
        }
    }
    if out.is_empty() {
        return Err("roles is missing".into());
    }
    out.sort();
    Ok(out)
}

/// The optional initial password of an account (None when the cell is empty).
pub fn password(value: &str) -> Result<Option<String>, String> {
    if value.is_empty() {
        return Ok(None);
    }
    let n = value.chars().count();
    if n < MIN_PASSWORD {
        return Err(format!(
            "password is shorter than {MIN_PASSWORD} characters"
        ));
    }
    if value.len() > 1024 {
        return Err("password is longer than 1024 bytes".into());
    }
    Ok(Some(value.to_string()))
}

fn term(session: &str, semester: &str) -> Result<(AcademicSession, Semester), String> {
    let session = AcademicSession::parse(session).map_err(|e| e.to_string())?;
    let semester = Semester::parse(semester).map_err(|e| e.to_string())?;
    Ok((session, semester))
}

pub fn faculty(r: &Row) -> Result<Faculty, String> {
    let s = FACULTIES;
    Ok(Faculty {
        code: code(r.need(0, s)?, "faculty")?,
        name: name(r.need(1, s)?, "name")?,
    })
}

pub fn department(r: &Row) -> Result<Department, String> {
    let s = DEPARTMENTS;
    Ok(Department {
        code: code(r.need(0, s)?, "department")?,
        name: name(r.need(1, s)?, "name")?,
        faculty_code: code(r.need(2, s)?, "faculty")?,
    })
}

pub fn programme(r: &Row) -> Result<Programme, String> {
    let s = PROGRAMMES;
    let years = r.need(3, s)?;
    let duration_years = match years.parse::<u8>() {
        Ok(y) if (1..=7).contains(&y) => y,
        _ => {
            return Err(format!(
                "duration_years '{years}' should be a whole number of years from 1 to 7"
            ))
        }
    };
    Ok(Programme {
        code: code(r.need(0, s)?, "programme")?,
        name: name(r.need(1, s)?, "name")?,
        department_code: code(r.need(2, s)?, "department")?,
        duration_years,
    })
}

pub fn student(r: &Row) -> Result<(Student, Option<String>), String> {
    let s = STUDENTS;
    let student = Student {
        matric_no: MatricNo::parse(r.need(0, s)?).map_err(|e| e.to_string())?,
        surname: name(r.need(1, s)?, "surname")?,
        first_name: name(r.need(2, s)?, "first_name")?,
        programme_code: code(r.need(3, s)?, "programme")?,
        level: level(r.need(4, s)?)?,
        entry_session: AcademicSession::parse(r.need(5, s)?).map_err(|e| e.to_string())?,
    };
    Ok((student, password(r.get(6))?))
}

pub fn staff(r: &Row) -> Result<(Staff, Option<String>), String> {
    let s = STAFF;
    let staff = Staff {
        staff_id: staff_id(r.need(0, s)?)?,
        name: name(r.need(1, s)?, "name")?,
        department_code: code(r.need(2, s)?, "department")?,
        roles: roles(r.need(3, s)?)?,
    };
    Ok((staff, password(r.get(4))?))
}

pub fn course(r: &Row) -> Result<Course, String> {
    let s = COURSES;
    Ok(Course {
        code: CourseCode::parse(r.need(0, s)?).map_err(|e| e.to_string())?,
        title: name(r.need(1, s)?, "title")?,
        units: units(r.need(2, s)?)?,
        department_code: code(r.need(3, s)?, "department")?,
        level: level(r.need(4, s)?)?,
        semester: Semester::parse(r.need(5, s)?).map_err(|e| e.to_string())?,
    })
}

pub fn allocation(r: &Row) -> Result<Allocation, String> {
    let s = ALLOCATIONS;
    let course_code = CourseCode::parse(r.need(0, s)?).map_err(|e| e.to_string())?;
    let (session, semester) = term(r.need(1, s)?, r.need(2, s)?)?;
    Ok(Allocation {
        course_code,
        session,
        semester,
        staff_id: staff_id(r.need(3, s)?)?,
    })
}

pub fn registration(r: &Row) -> Result<Registration, String> {
    let s = REGISTRATIONS;
    let matric_no = MatricNo::parse(r.need(0, s)?).map_err(|e| e.to_string())?;
    let course_code = CourseCode::parse(r.need(1, s)?).map_err(|e| e.to_string())?;
    let (session, semester) = term(r.need(2, s)?, r.need(3, s)?)?;
    Ok(Registration {
        matric_no,
        course_code,
        session,
        semester,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(cells: &[&str]) -> Row {
        Row {
            line: 2,
            cells: cells.iter().map(|c| c.to_string()).collect(),
        }
    }

    #[test]
    fn a_student_row_is_normalised() {
        let (s, pw) = student(&row(&[
            " csc/2021/001 ",
            "Okafor",
            "Chidinma  Grace",
            "bsc-csc",
            "300",
            "2021/2022",
            "",
        ]))
        .unwrap();
        assert_eq!(s.matric_no.as_str(), "CSC/2021/001");
        assert_eq!(s.first_name, "Chidinma Grace");
        assert_eq!(s.programme_code, "BSC-CSC");
        assert_eq!(s.level, 300);
        assert_eq!(pw, None);
    }

    #[test]
    fn bad_cells_are_refused_with_the_first_reason() {
        let bad = |cells: &[&str]| student(&row(cells)).unwrap_err();
        assert_eq!(
            bad(&["", "A", "B", "P", "100", "2024"]),
            "matric_no is missing"
        );
        assert!(bad(&["A B", "A", "B", "P", "100", "2024"]).contains("matric number"));
        assert!(bad(&["X1", "A", "B", "P", "250", "2024"]).contains("level '250'"));
        assert!(bad(&["X1", "A", "B", "P", "100", "2024/2026"]).contains("consecutive"));
        assert!(bad(&["X1", "A", "B", "P", "100", "2024", "short"]).contains("shorter than 8"));
    }

    #[test]
    fn staff_roles_are_parsed_and_students_refused() {
        let (s, _) = staff(&row(&["sp/101", "Dr A. Bello", "CSC", "Lecturer; HOD", ""])).unwrap();
        assert_eq!(s.staff_id, "SP/101");
        assert_eq!(s.roles, vec![Role::Lecturer, Role::Hod]);
        let e = staff(&row(&["SP/102", "B", "CSC", "student", ""])).unwrap_err();
        assert!(e.contains("student role"), "{e}");
        let e = staff(&row(&["SP/103", "B", "CSC", "professor", ""])).unwrap_err();
        assert!(e.contains("role 'professor'"), "{e}");
        let e = staff(&row(&["admin", "B", "CSC", "admin", ""])).unwrap_err();
        assert!(e.contains("reserved"), "{e}");
    }

    #[test]
    fn course_units_and_semester_are_checked() {
        let c = course(&row(&[
            "csc201",
            "Data Structures",
            "3",
            "CSC",
            "200",
            "First",
        ]))
        .unwrap();
        assert_eq!(
            (c.code.as_str(), c.units, c.semester),
            ("CSC 201", 3, Semester::First)
        );
        let e = course(&row(&["CSC 202", "T", "three", "CSC", "200", "2"])).unwrap_err();
        assert!(e.contains("units 'three'"), "{e}");
        let e = course(&row(&["CSC 202", "T", "3", "CSC", "200", "third"])).unwrap_err();
        assert!(e.contains("semester 'third'"), "{e}");
    }

    #[test]
    fn programme_duration_is_bounded() {
        let e = programme(&row(&["P", "N", "D", "9"])).unwrap_err();
        assert!(e.contains("duration_years '9'"), "{e}");
    }
}
