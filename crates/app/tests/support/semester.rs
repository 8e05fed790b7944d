//! A small faculty and a semester's worth of score sheets for the cluster tests.
//!
//! The university is written through the store's own directory methods: three departments,
//! `students` students, twelve first-semester courses of 2024/2025 (each student registered
//! for six) and four second-semester courses of 2023/2024 (so CGPAs span two semesters), one
//! lecturer allocated to each course. Every course gets a score sheet; some carry rows that
//! must be refused (an unknown student, a student not registered, a CA above its maximum), and
//! a few courses get a corrected second sheet that must replace the first.
//!
//! Each sheet knows the rows it must leave behind ([`Sheet::accepted`]), decided here from how
//! the sheet was written, never read back from the code under test.

use eportal_core::model::{
    Allocation, Course, CourseTerm, Department, Faculty, Programme, Registration, Staff, Student,
    UserAccount,
};
use eportal_core::{AcademicSession, CourseCode, MatricNo, Role, Score, Semester};
use eportal_ports::RecordStore;
use std::collections::BTreeMap;

/// The password of every lecturer's account.
pub const PASSWORD: &str = "cluster test password";

const DEPARTMENTS: [(&str, &str); 3] = [
    ("CSC", "Computer Science"),
    ("MTH", "Mathematics"),
    ("PHY", "Physics"),
];

/// One course as taught in one term, by one lecturer.
#[derive(Debug, Clone)]
pub struct Offering {
    pub course: Course,
    pub term: CourseTerm,
    pub lecturer: String,
    pub students: Vec<MatricNo>,
}

/// A score sheet to upload, and what it must leave in the store once it is the term's latest.
#[derive(Debug, Clone)]
pub struct Sheet {
    pub label: String,
    pub offering: usize,
    pub version: u8,
    pub csv: String,
    /// Matric → (CA, exam) of every row that must be accepted.
    pub accepted: BTreeMap<MatricNo, (Score, Score)>,
    /// How many rows must be refused.
    pub rejected: u32,
}

impl Sheet {
    /// The query string of the upload (`course=CSC201&session=2024-2025&semester=first`).
    pub fn query(&self, plan: &Plan) -> String {
        let t = &plan.offerings[self.offering].term;
        let year = t.session.start_year();
        let semester = match t.semester {
            Semester::First => "first",
            Semester::Second => "second",
        };
        format!(
            "course={}&session={}-{}&semester={semester}",
            t.course_code.as_str().replace(' ', ""),
            year,
            year + 1
        )
    }
}

pub struct Plan {
    pub students: Vec<MatricNo>,
    pub offerings: Vec<Offering>,
    /// First versions of every course in course order, then the corrected second versions.
    pub sheets: Vec<Sheet>,
}

fn matric(i: usize) -> MatricNo {
    MatricNo::parse(&format!("SCI/2021/{:04}", i + 1)).expect("valid matric")
}

/// A deterministic spread of numbers, so every run uploads the same sheets.
fn mix(a: usize, b: usize, salt: u64) -> u64 {
    let mut x = (a as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ (b as u64).wrapping_mul(0xC2B2_AE3D_27D4_EB4F)
        ^ salt;
    x ^= x >> 31;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^ (x >> 29)
}

/// Builds the plan for `students` students.
pub fn plan(students: usize) -> Plan {
    let first = AcademicSession::new(2024).expect("valid session");
    let earlier = AcademicSession::new(2023).expect("valid session");
    let mut offerings = Vec::new();
    let mut add = |code: String, dept: &str, level: u16, semester, session, units: u8| {
        let n = offerings.len();
        let course = Course {
            code: CourseCode::parse(&code).expect("valid course"),
            title: format!("{code} (cluster test)"),
            units,
            department_code: dept.into(),
            level,
            semester,
        };
        let registered: Vec<MatricNo> = (0..students)
            .filter(|i| match semester {
                Semester::First => (i + n).is_multiple_of(2),
                Semester::Second => !(n % 4 == 3 && i.is_multiple_of(5)),
            })
            .map(matric)
            .collect();
        offerings.push(Offering {
            term: CourseTerm {
                course_code: course.code.clone(),
                session,
                semester,
            },
            course,
            lecturer: format!("L{:03}", n + 1),
            students: registered,
        });
    };
    for (d, (dept, _)) in DEPARTMENTS.iter().enumerate() {
        for k in 1..=4u8 {
            let units = 2 + (d as u8 + k) % 3;
            add(
                format!("{dept}20{k}"),
                dept,
                200,
                Semester::First,
                first,
                units,
            );
        }
    }
    for (k, code) in ["CSC102", "MTH102", "PHY102", "GST102"].iter().enumerate() {
        let dept = DEPARTMENTS[k % 3].0;
        add(
            code.to_string(),
            dept,
            100,
            Semester::Second,
            earlier,
            2 + (k as u8 % 2),
        );
    }
    let mut sheets: Vec<Sheet> = (0..offerings.len())
        .map(|o| sheet(&offerings, students, o, 1))
        .collect();
    for o in [1, 6, 13] {
        sheets.push(sheet(&offerings, students, o, 2));
    }
    Plan {
        students: (0..students).map(matric).collect(),
        offerings,
        sheets,
    }
}

fn sheet(offerings: &[Offering], students: usize, o: usize, version: u8) -> Sheet {
    let off = &offerings[o];
    let mut csv = String::from("Matric No,CA,Exam\n");
    let mut accepted = BTreeMap::new();
    let mut rejected = 0;
    let with_errors = o.is_multiple_of(3);
    for (i, m) in off.students.iter().enumerate() {
        let h = mix(i, o, 7);
        let ca = Score::from_tenths((h % 81) as u16 * 5);
        let exam1 = ((h >> 16) % 121) as u16 * 5;
        // The correction moves every exam score by one mark (down, near the 60 maximum), so
        // every record changes and none leaves the valid range.
        let exam = match (version, exam1) {
            (1, e) => e,
            (_, e) if e + 10 > 600 => e - 10,
            (_, e) => e + 10,
        };
        let exam = Score::from_tenths(exam);
        if with_errors && i == 1 {
            csv.push_str(&format!("{m},45,{exam}\n"));
            rejected += 1;
            continue;
        }
        csv.push_str(&format!("{m},{ca},{exam}\n"));
        accepted.insert(m.clone(), (ca, exam));
    }
    if with_errors {
        csv.push_str("SCI/2021/9999,20,40\n");
        rejected += 1;
        if let Some(outsider) = (0..students)
            .map(matric)
            .find(|m| !off.students.contains(m))
        {
            csv.push_str(&format!("{outsider},20,40\n"));
            rejected += 1;
        }
    }
    Sheet {
        label: format!("{} v{version}", off.course.code),
        offering: o,
        version,
        csv,
        accepted,
        rejected,
    }
}

/// Writes the faculty, its people, courses, allocations, registrations and the lecturers'
/// accounts (all with `password_hash`).
pub async fn seed(store: &dyn RecordStore, plan: &Plan, password_hash: &str) {
    let faculties = [Faculty {
        code: "SCI".into(),
        name: "Faculty of Science".into(),
    }];
    let departments = DEPARTMENTS.map(|(c, n)| Department {
        code: c.into(),
        name: n.into(),
        faculty_code: "SCI".into(),
    });
    let programmes = DEPARTMENTS.map(|(c, n)| Programme {
        code: c.into(),
        name: format!("B.Sc. {n}"),
        department_code: c.into(),
        duration_years: 4,
    });
    let students: Vec<Student> = plan
        .students
        .iter()
        .enumerate()
        .map(|(i, m)| Student {
            matric_no: m.clone(),
            surname: format!("Surname{i}"),
            first_name: format!("First{i}"),
            programme_code: DEPARTMENTS[i % 3].0.into(),
            level: 200,
            entry_session: AcademicSession::new(2021).expect("valid session"),
        })
        .collect();
    let staff: Vec<Staff> = plan
        .offerings
        .iter()
        .map(|o| Staff {
            staff_id: o.lecturer.clone(),
            name: format!("Dr. {}", o.lecturer),
            department_code: o.course.department_code.clone(),
            roles: vec![Role::Lecturer],
        })
        .collect();
    let courses: Vec<Course> = plan.offerings.iter().map(|o| o.course.clone()).collect();
    let allocations: Vec<Allocation> = plan
        .offerings
        .iter()
        .map(|o| Allocation {
            course_code: o.term.course_code.clone(),
            session: o.term.session,
            semester: o.term.semester,
            staff_id: o.lecturer.clone(),
        })
        .collect();
    let registrations: Vec<Registration> = plan
        .offerings
        .iter()
        .flat_map(|o| {
            o.students.iter().map(|m| Registration {
                matric_no: m.clone(),
                course_code: o.term.course_code.clone(),
                session: o.term.session,
                semester: o.term.semester,
            })
        })
        .collect();
    let users: Vec<UserAccount> = staff
        .iter()
        .map(|s| UserAccount {
            username: s.staff_id.clone(),
            password_hash: password_hash.into(),
            display_name: s.name.clone(),
            roles: s.roles.clone(),
        })
        .collect();
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
    store.upsert_staff(&staff).await.expect("seed staff");
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
