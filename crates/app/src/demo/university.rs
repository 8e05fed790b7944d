//! The demo university as plain records: faculties, departments (one programme each), levels
//! 100–400 (500 in engineering), students spread over every programme and level, six courses
//! per department, level and semester, a lecturer for each course, an HOD per department, a
//! dean per faculty, and every student registered for their level's courses in the current
//! session. Pure and deterministic: the same seed and size give the same university.

use super::catalogue::FACULTIES;
use super::names;
use eportal_core::model::{
    Allocation, Course, Department, Faculty, Institution, Programme, Registration, Staff, Student,
};
use eportal_core::{AcademicSession, CourseCode, MatricNo, Role, Semester};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::HashMap;

/// The session every demo registration and score sheet belongs to.
pub const SESSION_START: u16 = 2024;
const COURSES_PER_SEMESTER: usize = 6;
const LECTURERS_PER_DEPARTMENT: usize = 8;

/// The university, ready to be written through the ports.
pub struct University {
    pub institution: Institution,
    pub session: AcademicSession,
    pub faculties: Vec<Faculty>,
    pub departments: Vec<Department>,
    pub programmes: Vec<Programme>,
    pub staff: Vec<Staff>,
    pub courses: Vec<Course>,
    pub allocations: Vec<Allocation>,
    pub students: Vec<Student>,
    pub registrations: Vec<Registration>,
    /// Students registered for each course, in matric order.
    pub class_lists: HashMap<CourseCode, Vec<usize>>,
    /// Each student's aptitude (10–100), which their scores follow.
    pub aptitude: Vec<u8>,
    pub hod: HashMap<String, String>,
    pub dean: HashMap<String, String>,
    /// The lecturer allocated to each course.
    pub lecturer: HashMap<CourseCode, String>,
}

impl University {
    /// The department whose programme the student is on.
    pub fn department_of(&self, student: &Student) -> &str {
        self.programmes
            .iter()
            .find(|p| p.code == student.programme_code)
            .map(|p| p.department_code.as_str())
            .unwrap_or("")
    }
}

fn roman(n: u16) -> &'static str {
    ["I", "II", "III", "IV", "V", "VI", "VII"][(n as usize).saturating_sub(1).min(6)]
}

/// Builds the university with `students` students from `seed`.
pub fn generate(seed: u64, students: usize) -> University {
    let mut rng = StdRng::seed_from_u64(seed);
    let session = AcademicSession::new(SESSION_START).expect("a valid session");
    let mut u = University {
        institution: Institution {
            name: "Federal University of Technology and Sciences (demo)".into(),
            short_name: "FUTS".into(),
        },
        session,
        faculties: Vec::new(),
        departments: Vec::new(),
        programmes: Vec::new(),
        staff: Vec::new(),
        courses: Vec::new(),
        allocations: Vec::new(),
        students: Vec::new(),
        registrations: Vec::new(),
        class_lists: HashMap::new(),
        aptitude: Vec::new(),
        hod: HashMap::new(),
        dean: HashMap::new(),
        lecturer: HashMap::new(),
    };
    // (department, level) cohorts, each with its courses.
    let mut cohorts: Vec<(String, String, u16)> = Vec::new();
    for (fcode, fname, years, depts) in FACULTIES {
        u.faculties.push(Faculty {
            code: fcode.to_string(),
            name: fname.to_string(),
        });
        for (d_index, d) in depts.iter().enumerate() {
            u.departments.push(Department {
                code: d.code.into(),
                name: d.name.into(),
                faculty_code: fcode.to_string(),
            });
            let programme = format!("{}-{}", if *years == 5 { "BENG" } else { "BSC" }, d.code);
            u.programmes.push(Programme {
                code: programme.clone(),
                name: d.programme.into(),
                department_code: d.code.into(),
                duration_years: *years,
            });
            let first_staff = u.staff.len();
            for i in 0..LECTURERS_PER_DEPARTMENT {
                let mut roles = vec![Role::Lecturer];
                if i == 0 {
                    roles.push(Role::Hod);
                    u.hod.insert(d.code.into(), staff_id(u.staff.len()));
                }
                if i == 1 && d_index == 0 {
                    roles.push(Role::Dean);
                    u.dean.insert(fcode.to_string(), staff_id(u.staff.len()));
                }
                u.staff.push(Staff {
                    staff_id: staff_id(u.staff.len()),
                    name: names::staff(&mut rng),
                    department_code: d.code.into(),
                    roles,
                });
            }
            let mut next_lecturer = 0usize;
            for level in (1..=*years as u16).map(|y| y * 100) {
                cohorts.push((d.code.into(), programme.clone(), level));
                for semester in [Semester::First, Semester::Second] {
                    for i in 0..COURSES_PER_SEMESTER {
                        // Odd numbers in the first semester, even in the second (CSC 201, CSC 202).
                        let number = level + 2 * i as u16 + semester.number() as u16;
                        let code = CourseCode::parse(&format!("{} {number}", d.code))
                            .expect("a valid course code");
                        let topic =
                            d.topics[(semester.number() as usize - 1) * COURSES_PER_SEMESTER + i];
                        let staff_id = u.staff
                            [first_staff + next_lecturer % LECTURERS_PER_DEPARTMENT]
                            .staff_id
                            .clone();
                        next_lecturer += 1;
                        u.courses.push(Course {
                            code: code.clone(),
                            title: format!("{topic} {}", roman(level / 100)),
                            units: rng.gen_range(2..=3),
                            department_code: d.code.into(),
                            level,
                            semester,
                        });
                        u.allocations.push(Allocation {
                            course_code: code.clone(),
                            session,
                            semester,
                            staff_id: staff_id.clone(),
                        });
                        u.lecturer.insert(code, staff_id);
                    }
                }
            }
        }
    }
    add_students(&mut u, &mut rng, &cohorts, students);
    u
}

fn staff_id(n: usize) -> String {
    format!("SP/{:04}", n + 1)
}

fn add_students(u: &mut University, rng: &mut StdRng, cohorts: &[(String, String, u16)], n: usize) {
    let mut by_cohort: HashMap<(String, u16), Vec<(CourseCode, Semester)>> = HashMap::new();
    for c in &u.courses {
        by_cohort
            .entry((c.department_code.clone(), c.level))
            .or_default()
            .push((c.code.clone(), c.semester));
    }
    for (k, (dept, programme, level)) in cohorts.iter().enumerate() {
        // An even share, the remainder to the first cohorts.
        let size = n / cohorts.len() + usize::from(k < n % cohorts.len());
        let entry = SESSION_START - (level / 100 - 1);
        for serial in 1..=size {
            let (surname, first_name) = names::student(rng);
            let index = u.students.len();
            let matric = MatricNo::parse(&format!("{dept}/{entry}/{serial:04}")).expect("valid");
            u.students.push(Student {
                matric_no: matric.clone(),
                surname,
                first_name,
                programme_code: programme.clone(),
                level: *level,
                entry_session: AcademicSession::new(entry).expect("valid"),
            });
            // The mean of two draws: most students are middling, few are at either end.
            let aptitude = (rng.gen_range(0..=100u16) + rng.gen_range(20..=100u16)) / 2;
            u.aptitude.push(aptitude as u8);
            for (code, semester) in &by_cohort[&(dept.clone(), *level)] {
                u.registrations.push(Registration {
                    matric_no: matric.clone(),
                    course_code: code.clone(),
                    session: u.session,
                    semester: *semester,
                });
                u.class_lists.entry(code.clone()).or_default().push(index);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_university_has_the_promised_shape() {
        let u = generate(7, 1000);
        assert_eq!(u.faculties.len(), 4);
        assert_eq!(u.departments.len(), 10);
        assert_eq!(u.programmes.len(), 10);
        assert_eq!(u.students.len(), 1000);
        // 7 four-year and 3 five-year departments, 12 courses a level.
        assert_eq!(u.courses.len(), (7 * 4 + 3 * 5) * 12);
        assert_eq!(u.hod.len(), 10);
        assert_eq!(u.dean.len(), 4);
        assert!(u.courses.iter().all(|c| (2..=3).contains(&c.units)));
        let eng500 = u.students.iter().filter(|s| s.level == 500).count();
        assert!(eng500 > 0 && u.students.iter().all(|s| s.level <= 500));
        // Every student takes the 12 courses of their level.
        assert_eq!(u.registrations.len(), 1000 * 12);
        let matrics: std::collections::HashSet<_> =
            u.students.iter().map(|s| &s.matric_no).collect();
        assert_eq!(matrics.len(), 1000, "matric numbers are unique");
    }

    #[test]
    fn the_same_seed_gives_the_same_university() {
        let (a, b) = (generate(3, 200), generate(3, 200));
        assert_eq!(a.students, b.students);
        assert_eq!(a.courses, b.courses);
        assert_eq!(a.aptitude, b.aptitude);
    }
}
