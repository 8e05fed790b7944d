//! Each CSV kind's references, checked against the store, and its batched upserts.
//! A row that refers to something missing is refused here, by line, so the store's own
//! reference check (which fails a whole batch) is never what a person sees.

use super::accounts::{self, Person};
use super::rows;
use super::table::Table;
use super::{judge, Good, ImportError, RowProblem, BATCH};
use eportal_core::model::{Course, Staff};
use eportal_core::{CourseCode, MatricNo, Role};
use eportal_ports::RecordStore;
use std::collections::{HashMap, HashSet};

/// Records saved, usernames of the accounts written, rows refused.
pub type Outcome = Result<(u64, Vec<String>, Vec<RowProblem>), ImportError>;

fn items<T>(good: Vec<Good<T>>) -> Vec<T> {
    good.into_iter().map(|g| g.item).collect()
}

fn known(set: &HashSet<String>, code: &str, what: &str, file: &str) -> Result<(), String> {
    if set.contains(code) {
        Ok(())
    } else {
        Err(format!(
            "{what} '{code}' does not exist; import it first (the {file} file)"
        ))
    }
}

macro_rules! upsert_batches {
    ($store:expr, $method:ident, $items:expr) => {{
        for chunk in $items.chunks(BATCH) {
            $store.$method(chunk).await?;
        }
        $items.len() as u64
    }};
}

pub async fn faculties(store: &dyn RecordStore, table: &Table) -> Outcome {
    let (good, bad) = judge(
        table,
        "faculty",
        |r| rows::faculty(r).map(|f| (f, None)),
        |f| f.code.clone(),
        |_| Ok(()),
    );
    let items = items(good);
    Ok((
        upsert_batches!(store, upsert_faculties, items),
        Vec::new(),
        bad,
    ))
}

pub async fn departments(store: &dyn RecordStore, table: &Table) -> Outcome {
    let faculties: HashSet<String> = store
        .faculties()
        .await?
        .into_iter()
        .map(|f| f.code)
        .collect();
    let (good, bad) = judge(
        table,
        "department",
        |r| rows::department(r).map(|d| (d, None)),
        |d| d.code.clone(),
        |d| known(&faculties, &d.faculty_code, "faculty", "faculties"),
    );
    let items = items(good);
    Ok((
        upsert_batches!(store, upsert_departments, items),
        Vec::new(),
        bad,
    ))
}

async fn department_codes(store: &dyn RecordStore) -> Result<HashSet<String>, ImportError> {
    Ok(store
        .departments()
        .await?
        .into_iter()
        .map(|d| d.code)
        .collect())
}

pub async fn programmes(store: &dyn RecordStore, table: &Table) -> Outcome {
    let departments = department_codes(store).await?;
    let (good, bad) = judge(
        table,
        "programme",
        |r| rows::programme(r).map(|p| (p, None)),
        |p| p.code.clone(),
        |p| {
            known(
                &departments,
                &p.department_code,
                "department",
                "departments",
            )
        },
    );
    let items = items(good);
    Ok((
        upsert_batches!(store, upsert_programmes, items),
        Vec::new(),
        bad,
    ))
}

pub async fn students(store: &dyn RecordStore, table: &Table) -> Outcome {
    let programmes: HashSet<String> = store
        .programmes()
        .await?
        .into_iter()
        .map(|p| p.code)
        .collect();
    let (good, bad) = judge(
        table,
        "matric number",
        rows::student,
        |s| s.matric_no.to_string(),
        |s| known(&programmes, &s.programme_code, "programme", "programmes"),
    );
    let people: Vec<Person> = good
        .iter()
        .map(|g| Person {
            username: g.item.matric_no.to_string(),
            display_name: format!("{} {}", g.item.first_name, g.item.surname),
            roles: vec![Role::Student],
            password: g.password.clone(),
        })
        .collect();
    let items = items(good);
    let n = upsert_batches!(store, upsert_students, items);
    let accounts = accounts::write(store, people).await?;
    Ok((n, accounts, bad))
}

pub async fn staff(store: &dyn RecordStore, table: &Table) -> Outcome {
    let departments = department_codes(store).await?;
    let (good, bad) = judge(
        table,
        "staff id",
        rows::staff,
        |s| s.staff_id.clone(),
        |s| {
            known(
                &departments,
                &s.department_code,
                "department",
                "departments",
            )
        },
    );
    let people: Vec<Person> = good
        .iter()
        .map(|g| Person {
            username: g.item.staff_id.clone(),
            display_name: g.item.name.clone(),
            roles: g.item.roles.clone(),
            password: g.password.clone(),
        })
        .collect();
    let items = items(good);
    let n = upsert_batches!(store, upsert_staff, items);
    let accounts = accounts::write(store, people).await?;
    Ok((n, accounts, bad))
}

pub async fn courses(store: &dyn RecordStore, table: &Table) -> Outcome {
    let departments = department_codes(store).await?;
    let (good, bad) = judge(
        table,
        "course",
        |r| rows::course(r).map(|c| (c, None)),
        |c| c.code.to_string(),
        |c| {
            known(
                &departments,
                &c.department_code,
                "department",
                "departments",
            )
        },
    );
    let items = items(good);
    Ok((
        upsert_batches!(store, upsert_courses, items),
        Vec::new(),
        bad,
    ))
}

async fn course_map(store: &dyn RecordStore) -> Result<HashMap<CourseCode, Course>, ImportError> {
    Ok(store
        .courses()
        .await?
        .into_iter()
        .map(|c| (c.code.clone(), c))
        .collect())
}

/// The course, taught in `semester`, or why not.
fn course_in<'a>(
    courses: &'a HashMap<CourseCode, Course>,
    code: &CourseCode,
    semester: eportal_core::Semester,
) -> Result<&'a Course, String> {
    let c = courses.get(code).ok_or_else(|| {
        format!("course '{code}' does not exist; import it first (the courses file)")
    })?;
    if c.semester != semester {
        return Err(format!(
            "course {code} is taught in the {} semester, not the {semester}",
            c.semester
        ));
    }
    Ok(c)
}

pub async fn allocations(store: &dyn RecordStore, table: &Table) -> Outcome {
    let courses = course_map(store).await?;
    // The store looks staff up one at a time; a file names few distinct lecturers.
    let mut staff: HashMap<String, Option<Staff>> = HashMap::new();
    for row in &table.rows {
        if let Ok(a) = rows::allocation(row) {
            if !staff.contains_key(&a.staff_id) {
                let found = store.staff(&a.staff_id).await?;
                staff.insert(a.staff_id.clone(), found);
            }
        }
    }
    let (good, bad) = judge(
        table,
        "allocation",
        |r| rows::allocation(r).map(|a| (a, None)),
        |a| {
            format!(
                "of {} to {} in {} {} semester",
                a.course_code, a.staff_id, a.session, a.semester
            )
        },
        |a| {
            course_in(&courses, &a.course_code, a.semester)?;
            match staff.get(&a.staff_id).and_then(|s| s.as_ref()) {
                None => Err(format!(
                    "staff member '{}' does not exist; import them first (the staff file)",
                    a.staff_id
                )),
                Some(s) if !s.roles.contains(&Role::Lecturer) => Err(format!(
                    "staff member {} is not a lecturer, so could not upload the course's score sheet; add the lecturer role in the staff file",
                    s.staff_id
                )),
                Some(_) => Ok(()),
            }
        },
    );
    let items = items(good);
    Ok((
        upsert_batches!(store, upsert_allocations, items),
        Vec::new(),
        bad,
    ))
}

/// Every matric number in the store.
async fn all_matrics(store: &dyn RecordStore) -> Result<HashSet<MatricNo>, ImportError> {
    const PAGE: u32 = 5000;
    let mut out = HashSet::new();
    let mut offset = 0u32;
    loop {
        let page = store.students(PAGE, offset).await?;
        let n = page.len() as u32;
        out.extend(page.into_iter().map(|s| s.matric_no));
        if n < PAGE {
            return Ok(out);
        }
        offset += n;
    }
}

pub async fn registrations(store: &dyn RecordStore, table: &Table) -> Outcome {
    let courses = course_map(store).await?;
    let students = all_matrics(store).await?;
    let (good, bad) = judge(
        table,
        "registration",
        |r| rows::registration(r).map(|x| (x, None)),
        |x| {
            format!(
                "of {} for {} in {} {} semester",
                x.matric_no, x.course_code, x.session, x.semester
            )
        },
        |x| {
            if !students.contains(&x.matric_no) {
                return Err(format!(
                    "student '{}' does not exist; import them first (the students file)",
                    x.matric_no
                ));
            }
            course_in(&courses, &x.course_code, x.semester).map(|_| ())
        },
    );
    let items = items(good);
    Ok((
        upsert_batches!(store, upsert_registrations, items),
        Vec::new(),
        bad,
    ))
}
