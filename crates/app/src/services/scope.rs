//! Where each person's roles apply: registry staff (admin) and senate everywhere, an HOD in
//! their own department, a dean in their own faculty, a lecturer in the courses and terms
//! they are allocated to teach. Reads of results and course records and every workflow step
//! go through here, so a role never reaches beyond its department or faculty.
//!
//! Never answer "yes" for a role whose holder's department cannot be found: an unknown
//! department is outside everyone's scope but the registry's and senate's.

use super::{Principal, ServiceResult, Services};
use eportal_core::model::{Course, CourseTerm, Department};
use eportal_core::{MatricNo, Role};

/// The faculty of department `code`, among `depts`.
pub(crate) fn faculty_of<'a>(depts: &'a [Department], code: &str) -> Option<&'a str> {
    depts
        .iter()
        .find(|d| d.code == code)
        .map(|d| d.faculty_code.as_str())
}

impl Services {
    /// Which of `who`'s review roles (admin, senate, HOD, dean) apply to the records of
    /// department `dept`.
    pub(crate) async fn review_roles_in(
        &self,
        who: &Principal,
        dept: &str,
    ) -> ServiceResult<Vec<Role>> {
        let store = &self.ports.store;
        let staff = if who.has(Role::Hod) || who.has(Role::Dean) {
            store.staff(&who.username).await?
        } else {
            None
        };
        let depts = if who.has(Role::Dean) {
            store.departments().await?
        } else {
            Vec::new()
        };
        let mut roles = Vec::new();
        for &role in &who.roles {
            let holds = match (role, &staff) {
                (Role::Senate | Role::Admin, _) => true,
                (Role::Hod, Some(s)) => s.department_code == dept,
                (Role::Dean, Some(s)) => {
                    let theirs = faculty_of(&depts, &s.department_code);
                    theirs.is_some() && theirs == faculty_of(&depts, dept)
                }
                _ => false,
            };
            if holds {
                roles.push(role);
            }
        }
        Ok(roles)
    }

    /// Which of `who`'s roles apply to this course in this term: its review roles, and
    /// lecturer when allocated to teach it then.
    pub(crate) async fn roles_for(
        &self,
        who: &Principal,
        term: &CourseTerm,
        course: &Course,
    ) -> ServiceResult<Vec<Role>> {
        let mut roles = self.review_roles_in(who, &course.department_code).await?;
        if self.is_allocated(who, term).await? {
            roles.push(Role::Lecturer);
        }
        Ok(roles)
    }

    /// Whether a review role of `who` (admin, senate, the course's HOD or dean) applies to
    /// the course of `term`.
    pub(crate) async fn reviews_term(
        &self,
        who: &Principal,
        term: &CourseTerm,
    ) -> ServiceResult<bool> {
        if !(who.has(Role::Admin)
            || who.has(Role::Senate)
            || who.has(Role::Hod)
            || who.has(Role::Dean))
        {
            return Ok(false);
        }
        let Some(course) = self.ports.store.course(&term.course_code).await? else {
            return Ok(false);
        };
        Ok(!self
            .review_roles_in(who, &course.department_code)
            .await?
            .is_empty())
    }

    /// May `who` read `matric`'s results? A student only their own; admin and senate anyone's;
    /// an HOD the students of their department's programmes, a dean of their faculty's.
    pub async fn may_read_results(
        &self,
        who: &Principal,
        matric: &MatricNo,
    ) -> ServiceResult<bool> {
        if who.has(Role::Student) && who.username == matric.as_str() {
            return Ok(true);
        }
        if who.has(Role::Admin) || who.has(Role::Senate) {
            return Ok(true);
        }
        if !(who.has(Role::Hod) || who.has(Role::Dean)) {
            return Ok(false);
        }
        let store = &self.ports.store;
        let Some(student) = store.student(matric).await? else {
            // Staff may learn that a matric number is unknown: the read answers 404.
            return Ok(true);
        };
        let programmes = store.programmes().await?;
        let Some(dept) = programmes
            .iter()
            .find(|p| p.code == student.programme_code)
            .map(|p| p.department_code.clone())
        else {
            return Ok(false);
        };
        Ok(!self.review_roles_in(who, &dept).await?.is_empty())
    }
}
