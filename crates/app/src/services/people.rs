//! The registry's view of people: the paged student list, for registry staff only.
//!
//! Never hand the list to anyone else: a student list is personal data of every student.

use super::{Principal, ServiceError, ServiceResult, Services};
use eportal_core::model::Student;
use eportal_core::Role;
use serde::Serialize;

/// One page of students, ordered by matric number, with the total count.
#[derive(Debug, Clone, Serialize)]
pub struct StudentPage {
    pub total: u64,
    pub limit: u32,
    pub offset: u32,
    pub students: Vec<Student>,
}

impl Services {
    /// A page of the student list; registry staff (admin, senate) only.
    pub async fn list_students(
        &self,
        who: &Principal,
        limit: u32,
        offset: u32,
    ) -> ServiceResult<StudentPage> {
        if !(who.has(Role::Admin) || who.has(Role::Senate)) {
            return Err(ServiceError::Forbidden(
                "only registry staff (admin, senate) may list students".into(),
            ));
        }
        let store = &self.ports.store;
        let (students, total) = tokio::join!(store.students(limit, offset), store.count_students());
        Ok(StudentPage {
            total: total?,
            limit,
            offset,
            students: students?,
        })
    }
}
