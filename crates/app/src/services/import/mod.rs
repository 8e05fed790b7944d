//! Bulk import of the university's directory (faculties, departments, programmes, students,
//! staff, courses, allocations, registrations) from CSV files, and of the institution and
//! its grading policy from TOML or JSON. The formats are documented in `docs/import.md`.
//!
//! Every row is judged on its own: a bad row is reported by line number with its reason and
//! the good rows are still saved (upserts by natural key, in batches, so importing the same
//! file twice is harmless). References (a student's programme, a registration's course) are
//! checked against the store before writing. This module must never log a password or a
//! hash, and never let a refused row reach the store.

mod accounts;
mod kinds;
pub mod rows;
pub mod settings;
pub mod table;

use super::{Principal, ServiceError, ServiceResult, Services};
use eportal_core::{PolicyScope, Role};
use eportal_ports::{PortError, RecordStore};
use serde::Serialize;
use std::collections::HashMap;
use std::fmt;

/// Rows written per store call: large enough that 10,000 students are a few round trips,
/// small enough that one statement stays well inside every engine's parameter limits.
pub const BATCH: usize = 1000;

/// What a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ImportKind {
    /// CSV: code, name.
    Faculties,
    /// CSV: code, name, faculty.
    Departments,
    /// CSV: code, name, department, duration_years.
    Programmes,
    /// CSV: matric_no, surname, first_name, programme, level, entry_session[, password].
    Students,
    /// CSV: staff_id, name, department, roles[, password].
    Staff,
    /// CSV: code, title, units, department, level, semester.
    Courses,
    /// CSV: course, session, semester, staff_id.
    Allocations,
    /// CSV: matric_no, course, session, semester.
    Registrations,
    /// The institution's name (TOML or JSON), optionally with its grading policy.
    Institution,
    /// The grading policy alone (TOML or JSON).
    Policy,
}

impl ImportKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ImportKind::Faculties => "faculties",
            ImportKind::Departments => "departments",
            ImportKind::Programmes => "programmes",
            ImportKind::Students => "students",
            ImportKind::Staff => "staff",
            ImportKind::Courses => "courses",
            ImportKind::Allocations => "allocations",
            ImportKind::Registrations => "registrations",
            ImportKind::Institution => "institution",
            ImportKind::Policy => "policy",
        }
    }
}

impl fmt::Display for ImportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A refused row: the line it is on and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowProblem {
    pub line: usize,
    pub reason: String,
}

impl fmt::Display for RowProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    pub kind: ImportKind,
    /// Records saved.
    pub imported: u64,
    /// Sign-in accounts created or refreshed (students and staff).
    pub accounts: u64,
    pub rejected: Vec<RowProblem>,
    /// Header cells that name no column of this kind (not read).
    pub ignored_columns: Vec<String>,
    /// The regrade a new grading policy started (policy and institution files).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub regrade: Option<eportal_ports::Regrade>,
    /// Usernames of the accounts written (not reported: their cached session versions are
    /// forgotten, so a change of roles or password ends their sessions at once).
    #[serde(skip)]
    pub usernames: Vec<String>,
}

/// Why a whole file could not be imported (as opposed to a bad row).
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{0}")]
    File(String),
    #[error(transparent)]
    Store(#[from] PortError),
}

/// A row that passed every check, with its (students, staff) initial password.
pub(crate) struct Good<T> {
    pub item: T,
    pub password: Option<String>,
}

/// Judges every row: parse it, refuse a second row with the same key, then check its
/// references. Returns the good rows and the problems, both in file order.
pub(crate) fn judge<T>(
    table: &table::Table,
    what: &str,
    parse: impl Fn(&table::Row) -> Result<(T, Option<String>), String>,
    key: impl Fn(&T) -> String,
    check: impl Fn(&T) -> Result<(), String>,
) -> (Vec<Good<T>>, Vec<RowProblem>) {
    let mut good = Vec::new();
    let mut bad = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for row in &table.rows {
        let verdict = parse(row).and_then(|(item, password)| {
            let k = key(&item);
            if let Some(first) = seen.get(&k) {
                return Err(format!(
                    "{what} {k} is already on line {first}; each may appear once in a file"
                ));
            }
            check(&item)?;
            seen.insert(k, row.line);
            Ok(Good { item, password })
        });
        match verdict {
            Ok(g) => good.push(g),
            Err(reason) => bad.push(RowProblem {
                line: row.line,
                reason,
            }),
        }
    }
    (good, bad)
}

/// Imports `bytes` of `kind` into `store`.
/// A policy applies to `scope` (ignored for other kinds); `by` is who imports.
pub async fn import(
    store: &dyn RecordStore,
    kind: ImportKind,
    bytes: &[u8],
    scope: PolicyScope,
    by: &str,
) -> Result<ImportReport, ImportError> {
    let report = |imported: u64, usernames: Vec<String>, rejected, ignored_columns| ImportReport {
        kind,
        imported,
        accounts: usernames.len() as u64,
        rejected,
        ignored_columns,
        usernames,
        regrade: None,
    };
    let regrade = match kind {
        ImportKind::Institution => Some(settings::institution(store, bytes).await?),
        ImportKind::Policy => Some(settings::policy(store, bytes, scope, by).await?),
        _ => None,
    };
    if let Some(regrade) = regrade {
        let mut r = report(1, Vec::new(), Vec::new(), Vec::new());
        r.regrade = regrade;
        return Ok(r);
    }
    let spec = match kind {
        ImportKind::Faculties => rows::FACULTIES,
        ImportKind::Departments => rows::DEPARTMENTS,
        ImportKind::Programmes => rows::PROGRAMMES,
        ImportKind::Students => rows::STUDENTS,
        ImportKind::Staff => rows::STAFF,
        ImportKind::Courses => rows::COURSES,
        ImportKind::Allocations => rows::ALLOCATIONS,
        ImportKind::Registrations => rows::REGISTRATIONS,
        ImportKind::Institution | ImportKind::Policy => unreachable!("handled above"),
    };
    let table = table::read(bytes, spec)?;
    let (imported, accounts, rejected) = match kind {
        ImportKind::Faculties => kinds::faculties(store, &table).await?,
        ImportKind::Departments => kinds::departments(store, &table).await?,
        ImportKind::Programmes => kinds::programmes(store, &table).await?,
        ImportKind::Students => kinds::students(store, &table).await?,
        ImportKind::Staff => kinds::staff(store, &table).await?,
        ImportKind::Courses => kinds::courses(store, &table).await?,
        ImportKind::Allocations => kinds::allocations(store, &table).await?,
        ImportKind::Registrations => kinds::registrations(store, &table).await?,
        ImportKind::Institution | ImportKind::Policy => unreachable!("handled above"),
    };
    Ok(report(imported, accounts, rejected, table.ignored_columns))
}

impl Services {
    /// Imports a file into this deployment's store (see [`import`]).
    pub async fn import(
        &self,
        kind: ImportKind,
        bytes: &[u8],
    ) -> Result<ImportReport, ImportError> {
        self.import_scoped(kind, bytes, PolicyScope::Default, "import")
            .await
    }

    /// [`Services::import`], a policy file applying to `scope`, imported by `by`.
    pub async fn import_scoped(
        &self,
        kind: ImportKind,
        bytes: &[u8],
        scope: PolicyScope,
        by: &str,
    ) -> Result<ImportReport, ImportError> {
        let report = import(self.ports.store.as_ref(), kind, bytes, scope, by).await?;
        self.forget_sessions(&report.usernames).await;
        if let Some(r) = report.regrade.as_ref().filter(|r| r.status.is_final()) {
            self.policies.saw(r.to_version);
        }
        Ok(report)
    }

    /// Imports a file sent by `who`, who must be the registry administrator (a policy for
    /// `scope`; the pages'
    /// import; [`Services::import`] is the command line's, run by the operator on the
    /// server). A file that cannot be used at all is `Invalid` with the reason, and nothing
    /// of it is written.
    ///
    /// Once begun, the import runs to its end in a task of its own even if the person who
    /// sent it goes away: a dropped request must not leave half a file written.
    pub async fn import_as(
        &self,
        who: &Principal,
        kind: ImportKind,
        bytes: Vec<u8>,
        scope: PolicyScope,
    ) -> ServiceResult<ImportReport> {
        if !who.has(Role::Admin) {
            return Err(ServiceError::Forbidden(
                "only the registry administrator may import the university's records".into(),
            ));
        }
        let services = self.clone();
        let by = who.username.clone();
        let report =
            tokio::spawn(async move { services.import_scoped(kind, &bytes, scope, &by).await })
                .await
                .map_err(|e| anyhow::anyhow!("the import task ended early: {e}"))?
                .map_err(|e| match e {
                    ImportError::File(m) => ServiceError::Invalid(m),
                    e @ ImportError::Store(PortError::Unavailable { .. }) => {
                        ServiceError::Unavailable(e.to_string())
                    }
                    // A regrade is still running: the new policy has to wait for it.
                    ImportError::Store(PortError::Conflict(m)) => ServiceError::Conflict(m),
                    // The rows were checked before writing: a refused write is ours, not the file's.
                    ImportError::Store(e) => ServiceError::Internal(
                        anyhow::Error::new(e).context("the store refused an import's write"),
                    ),
                })?;
        tracing::info!(
            %kind,
            imported = report.imported,
            accounts = report.accounts,
            rejected = report.rejected.len(),
            by = %who.username,
            "import by the registry administrator"
        );
        Ok(report)
    }
}
