//! A small university for the API tests, written through the store's own directory methods:
//! one faculty with two departments, three students registered for two first-semester
//! courses in 2024/2025, a lecturer allocated to both, another who is not, each
//! department's HOD, the dean, senate, and the registry administrator; and a second faculty
//! (Arts, with English) whose dean reviews nothing of the first.

use eportal_core::model::{
    Allocation, Course, Department, Faculty, Programme, Registration, Staff, Student, UserAccount,
};
use eportal_core::{AcademicSession, CourseCode, MatricNo, Role, Semester};
use eportal_ports::RecordStore;

pub const STUDENTS: [&str; 3] = ["SCI/2021/0001", "SCI/2021/0002", "SCI/2021/0003"];
/// Allocated to both courses.
pub const LECTURER: &str = "L001";
/// A lecturer allocated to nothing.
pub const OTHER_LECTURER: &str = "L002";
/// HOD of Computer Science (CSC 201's department).
pub const HOD: &str = "H001";
/// HOD of Mathematics (MTH 201's department).
pub const MTH_HOD: &str = "H002";
pub const DEAN: &str = "D001";
/// Dean of the Faculty of Arts (English), which has no part in the Science courses.
pub const ARTS_DEAN: &str = "D002";
pub const SENATE: &str = "S001";
pub const ADMIN: &str = "admin";

/// (code as used in URLs, units)
pub const CSC201: (&str, u8) = ("CSC201", 3);
pub const MTH201: (&str, u8) = ("MTH201", 2);

fn session() -> AcademicSession {
    AcademicSession::new(2024).expect("valid session")
}

fn staff(id: &str, name: &str, dept: &str, roles: &[Role]) -> Staff {
    Staff {
        staff_id: id.into(),
        name: name.into(),
        department_code: dept.into(),
        roles: roles.to_vec(),
    }
}

fn course(code: &str, title: &str, units: u8, dept: &str) -> Course {
    Course {
        code: CourseCode::parse(code).expect("valid course"),
        title: title.into(),
        units,
        department_code: dept.into(),
        level: 200,
        semester: Semester::First,
    }
}

pub async fn seed(store: &dyn RecordStore, password_hash: &str) {
    let faculties =
        [("SCI", "Faculty of Science"), ("ART", "Faculty of Arts")].map(|(c, n)| Faculty {
            code: c.into(),
            name: n.into(),
        });
    let departments = [
        ("CSC", "Computer Science", "SCI"),
        ("MTH", "Mathematics", "SCI"),
        ("ENG", "English", "ART"),
    ]
    .map(|(c, n, f)| Department {
        code: c.into(),
        name: n.into(),
        faculty_code: f.into(),
    });
    let programmes = [Programme {
        code: "CSC".into(),
        name: "B.Sc. Computer Science".into(),
        department_code: "CSC".into(),
        duration_years: 4,
    }];
    let names = [("Obi", "Ada"), ("Ade", "Bola"), ("Eze", "Chidi")];
    let students: Vec<Student> = STUDENTS
        .iter()
        .zip(names)
        .map(|(m, (surname, first))| Student {
            matric_no: MatricNo::parse(m).expect("valid matric"),
            surname: surname.into(),
            first_name: first.into(),
            programme_code: "CSC".into(),
            level: 200,
            entry_session: AcademicSession::new(2021).expect("valid session"),
        })
        .collect();
    let staff_rows = [
        staff(LECTURER, "Dr. Lecturer One", "CSC", &[Role::Lecturer]),
        staff(OTHER_LECTURER, "Dr. Lecturer Two", "CSC", &[Role::Lecturer]),
        staff(HOD, "Prof. CSC Head", "CSC", &[Role::Lecturer, Role::Hod]),
        staff(
            MTH_HOD,
            "Prof. MTH Head",
            "MTH",
            &[Role::Lecturer, Role::Hod],
        ),
        staff(DEAN, "Prof. Dean", "CSC", &[Role::Dean]),
        staff(ARTS_DEAN, "Prof. Arts Dean", "ENG", &[Role::Dean]),
        staff(SENATE, "The Registrar", "CSC", &[Role::Senate]),
    ];
    let courses = [
        course(CSC201.0, "Data Structures", CSC201.1, "CSC"),
        course(MTH201.0, "Linear Algebra", MTH201.1, "MTH"),
    ];
    let allocations: Vec<Allocation> = courses
        .iter()
        .map(|c| Allocation {
            course_code: c.code.clone(),
            session: session(),
            semester: Semester::First,
            staff_id: LECTURER.into(),
        })
        .collect();
    let registrations: Vec<Registration> = students
        .iter()
        .flat_map(|s| {
            courses.iter().map(|c| Registration {
                matric_no: s.matric_no.clone(),
                course_code: c.code.clone(),
                session: session(),
                semester: Semester::First,
            })
        })
        .collect();
    let account = |username: &str, name: &str, roles: Vec<Role>| UserAccount {
        username: username.into(),
        password_hash: password_hash.into(),
        display_name: name.into(),
        roles,
    };
    let mut users: Vec<UserAccount> = staff_rows
        .iter()
        .map(|s| account(&s.staff_id, &s.name, s.roles.clone()))
        .collect();
    users.push(account(ADMIN, "Registry Administrator", vec![Role::Admin]));
    users.extend(students.iter().map(|s| {
        account(
            s.matric_no.as_str(),
            &format!("{} {}", s.first_name, s.surname),
            vec![Role::Student],
        )
    }));

    store
        .upsert_faculties(&faculties)
        .await
        .expect("seed faculties");
    store
        .upsert_departments(&departments)
        .await
        .expect("seed departments");
    store
        .upsert_programmes(&programmes)
        .await
        .expect("seed programmes");
    store
        .upsert_students(&students)
        .await
        .expect("seed students");
    store.upsert_staff(&staff_rows).await.expect("seed staff");
    store.upsert_courses(&courses).await.expect("seed courses");
    store
        .upsert_allocations(&allocations)
        .await
        .expect("seed allocations");
    store
        .upsert_registrations(&registrations)
        .await
        .expect("seed registrations");
    store.upsert_users(&users).await.expect("seed users");
}
