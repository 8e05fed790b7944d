//! Changing the grading policy: a new book (one scope's policy replaced), stored with the
//! regrade that switches to it, run as jobs by any number of workers — map tasks grade the
//! course results of their partition, reduce tasks compute the semester results of their
//! partition of students, and one commit switches (see [`eportal_ports::Policies`]). Also the
//! dry run: what a change would do, before anything changes.

use super::worker::JobFailure;
use super::{Principal, ServiceError, ServiceResult, Services};
use eportal_core::gpa::Gpa;
use eportal_core::model::SemesterResult;
use eportal_core::policy_book::term_partition;
use eportal_core::regrade::{self, RegradeRow};
use eportal_core::{AcademicSession, GradingPolicy, MatricNo, PolicyBook, PolicyScope, Role};
use eportal_ports::{Regrade, RegradeParts, RegradeStatus};
use serde::Serialize;
use std::collections::BTreeMap;

/// How many map and reduce tasks a regrade is split into: enough that several workers
/// share it, few enough that each task's transaction is worth its cost.
pub const PARTS: RegradeParts = RegradeParts {
    map: 16,
    reduce: 16,
};

/// A regrade as people read it: with its progress and its own address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegradeView {
    #[serde(flatten)]
    pub regrade: Regrade,
    /// Map and reduce tasks done, and the commit once it is.
    pub tasks_done: u32,
    pub tasks_total: u32,
    pub percent: u32,
    pub url: String,
}

impl From<Regrade> for RegradeView {
    fn from(r: Regrade) -> Self {
        let (done, total) = (r.tasks_done(), r.tasks_total());
        RegradeView {
            tasks_done: done,
            tasks_total: total,
            percent: done * 100 / total.max(1),
            url: format!("/api/v1/admin/regrades/{}", r.id),
            regrade: r,
        }
    }
}

/// One student whose results a change would alter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChangedStudent {
    pub matric_no: MatricNo,
    pub cgpa_before: Option<Gpa>,
    pub cgpa_after: Option<Gpa>,
    pub class_before: Option<String>,
    pub class_after: Option<String>,
}

/// What a change of policy would do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DryRun {
    pub students: u64,
    pub records: u64,
    /// Records whose grade or points would change.
    pub records_changed: u64,
    /// Students with a semester GPA or CGPA that would change.
    pub gpa_changed: u64,
    /// Students whose class of degree would change.
    pub class_changed: u64,
    /// A few of them: those whose class would change first, then those whose GPAs would.
    pub examples: Vec<ChangedStudent>,
}

/// A student's final CGPA and class, from their semester results under `book` (`entry`:
/// their entry session).
fn standing(
    book: &PolicyBook,
    entry: AcademicSession,
    results: &[SemesterResult],
) -> (Option<Gpa>, Option<String>) {
    let Some(last) = results.last() else {
        return (None, None);
    };
    let cgpa = (last.cumulative_units > 0).then_some(last.cgpa);
    let class = cgpa.and_then(|c| {
        book.for_student(entry)
            .class_of_degree(c)
            .map(str::to_string)
    });
    (cgpa, class)
}

fn by_student(results: Vec<SemesterResult>) -> BTreeMap<MatricNo, Vec<SemesterResult>> {
    let mut out: BTreeMap<MatricNo, Vec<SemesterResult>> = BTreeMap::new();
    for r in results {
        out.entry(r.matric_no.clone()).or_default().push(r);
    }
    out
}

impl Services {
    /// Only the registry (admin) changes a grading policy.
    pub fn may_change_policy(who: &Principal) -> ServiceResult<()> {
        if who.has(Role::Admin) {
            Ok(())
        } else {
            Err(ServiceError::Forbidden(
                "only the registry (admin) changes the grading policy".into(),
            ))
        }
    }

    /// The active book with `policy` set for `scope`, checked.
    pub async fn proposed_book(
        &self,
        scope: PolicyScope,
        policy: GradingPolicy,
    ) -> ServiceResult<PolicyBook> {
        let active = self.policies.active_now().await?;
        active
            .proposal(scope, policy)
            .map_err(|e| ServiceError::Invalid(e.to_string()))?
            .ok_or_else(|| {
                ServiceError::Conflict(format!(
                    "the policy for {} is already this one (version {}); nothing to regrade",
                    scope.words(),
                    active.version
                ))
            })
    }

    /// Stores a new book (the active one with `policy` for `scope`) and starts its regrade.
    pub async fn change_policy(
        &self,
        who: &Principal,
        scope: PolicyScope,
        policy: GradingPolicy,
    ) -> ServiceResult<Regrade> {
        Self::may_change_policy(who)?;
        let book = self.proposed_book(scope, policy).await?;
        self.start_regrade(&book, scope, &who.username).await
    }

    /// Stores `book` (from [`Services::proposed_book`]) and starts its regrade, started by
    /// `by` (an account, or the command line).
    pub async fn start_regrade(
        &self,
        book: &PolicyBook,
        scope: PolicyScope,
        by: &str,
    ) -> ServiceResult<Regrade> {
        let regrade = self.ports.store.start_regrade(book, PARTS, by).await?;
        if regrade.status == RegradeStatus::Done {
            self.policies.saw(regrade.to_version);
        }
        tracing::info!(
            regrade = regrade.id,
            from = regrade.from_version,
            to = regrade.to_version,
            scope = %scope.words(),
            by,
            "grading policy changed; regrade started"
        );
        Ok(regrade)
    }

    fn may_read_regrades(who: &Principal) -> ServiceResult<()> {
        if who.has(Role::Admin) || who.has(Role::Senate) {
            Ok(())
        } else {
            Err(ServiceError::Forbidden(
                "only the registry (admin) and senate see regrades".into(),
            ))
        }
    }

    /// The latest regrades, for the registry and senate.
    pub async fn regrades_for(
        &self,
        who: &Principal,
        limit: u32,
    ) -> ServiceResult<Vec<RegradeView>> {
        Self::may_read_regrades(who)?;
        Ok(self
            .regrades(limit)
            .await?
            .into_iter()
            .map(RegradeView::from)
            .collect())
    }

    pub async fn regrade_for(&self, who: &Principal, id: i64) -> ServiceResult<RegradeView> {
        Self::may_read_regrades(who)?;
        self.regrade_status(id).await.map(RegradeView::from)
    }

    /// What setting `policy` for `scope` would change (the registry only; nothing changes).
    pub async fn policy_dry_run(
        &self,
        who: &Principal,
        scope: PolicyScope,
        policy: GradingPolicy,
    ) -> ServiceResult<DryRun> {
        Self::may_change_policy(who)?;
        let book = self.proposed_book(scope, policy).await?;
        self.dry_run(&book, 10).await
    }

    pub async fn regrade_status(&self, id: i64) -> ServiceResult<Regrade> {
        self.ports
            .store
            .regrade(id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("no regrade has id {id}")))
    }

    pub async fn regrades(&self, limit: u32) -> ServiceResult<Vec<Regrade>> {
        Ok(self.ports.store.regrades(limit).await?)
    }

    /// Every current record, read a map partition at a time.
    async fn all_rows(&self) -> ServiceResult<Vec<RegradeRow>> {
        let terms = self.ports.store.graded_terms().await?;
        let mut rows = Vec::new();
        for part in 0..PARTS.map {
            let mine: Vec<_> = terms
                .iter()
                .filter(|t| term_partition(t, PARTS.map) == part)
                .cloned()
                .collect();
            if !mine.is_empty() {
                rows.extend(self.ports.store.regrade_rows(&mine).await?);
            }
        }
        Ok(rows)
    }

    /// What regrading every record under `book` would change, against the records as they
    /// are (graded under the active book). Changes nothing.
    pub async fn dry_run(&self, book: &PolicyBook, examples: usize) -> ServiceResult<DryRun> {
        let active = self.policies.active_now().await?;
        let before_rows = self.all_rows().await?;
        let mut after_rows = before_rows.clone();
        let records_changed = regrade::map(book, &mut after_rows);
        let before = by_student(regrade::reduce(&active, &before_rows));
        let after = by_student(regrade::reduce(book, &after_rows));
        let entry_of: BTreeMap<&MatricNo, AcademicSession> =
            before_rows.iter().map(|r| (&r.matric, r.entry)).collect();
        let mut out = DryRun {
            students: entry_of.len() as u64,
            records: before_rows.len() as u64,
            records_changed,
            gpa_changed: 0,
            class_changed: 0,
            examples: Vec::new(),
        };
        let (mut class_examples, mut gpa_examples) = (Vec::new(), Vec::new());
        for (m, &entry) in &entry_of {
            let (b, a) = (&before[*m], &after[*m]);
            let gpas = |v: &[SemesterResult]| -> Vec<(u16, u16)> {
                v.iter()
                    .map(|s| (s.gpa.hundredths(), s.cgpa.hundredths()))
                    .collect()
            };
            let (cgpa_before, class_before) = standing(&active, entry, b);
            let (cgpa_after, class_after) = standing(book, entry, a);
            let gpa_moved = gpas(b) != gpas(a);
            let class_moved = class_before != class_after;
            out.gpa_changed += u64::from(gpa_moved);
            out.class_changed += u64::from(class_moved);
            let example = || ChangedStudent {
                matric_no: (*m).clone(),
                cgpa_before,
                cgpa_after,
                class_before: class_before.clone(),
                class_after: class_after.clone(),
            };
            if class_moved && class_examples.len() < examples {
                class_examples.push(example());
            } else if gpa_moved && !class_moved && gpa_examples.len() < examples {
                gpa_examples.push(example());
            }
        }
        // Students whose class would change first: they are what a senate asks about.
        class_examples.extend(gpa_examples);
        class_examples.truncate(examples);
        out.examples = class_examples;
        Ok(out)
    }

    /// A regrade's map task: grades the records of its partition of course results.
    pub(super) async fn regrade_map(&self, id: i64, part: u32) -> Result<(), JobFailure> {
        let Some(r) = self.live_regrade(id, RegradeStatus::Mapping).await? else {
            return Ok(());
        };
        let book = self.policies.book(r.to_version).await?;
        let store = &self.ports.store;
        let terms: Vec<_> = store
            .graded_terms()
            .await?
            .into_iter()
            .filter(|t| term_partition(t, r.parts.map) == part)
            .collect();
        let mut rows = if terms.is_empty() {
            Vec::new()
        } else {
            store.regrade_rows(&terms).await?
        };
        let changed = regrade::map(&book, &mut rows);
        super::faults::before_regrade_write("map", part);
        if store.finish_map(id, part, &rows, changed).await? {
            self.metrics.regrade_tasks.with_label_values(&["map"]).inc();
            self.metrics.regrade_records.inc_by(rows.len() as u64);
            tracing::info!(
                regrade = id,
                part,
                records = rows.len(),
                changed,
                "regrade map task done"
            );
        }
        Ok(())
    }

    /// A regrade's reduce task: the semester results of its partition of students.
    pub(super) async fn regrade_reduce(&self, id: i64, part: u32) -> Result<(), JobFailure> {
        let Some(r) = self.live_regrade(id, RegradeStatus::Reducing).await? else {
            return Ok(());
        };
        let book = self.policies.book(r.to_version).await?;
        let rows = self.ports.store.reduce_rows(id, part).await?;
        let results = regrade::reduce(&book, &rows);
        super::faults::before_regrade_write("reduce", part);
        if self.ports.store.finish_reduce(id, part, &results).await? {
            self.metrics
                .regrade_tasks
                .with_label_values(&["reduce"])
                .inc();
            tracing::info!(
                regrade = id,
                part,
                records = rows.len(),
                "regrade reduce task done"
            );
        }
        Ok(())
    }

    /// A regrade's commit: the switch.
    pub(super) async fn regrade_commit(&self, id: i64) -> Result<(), JobFailure> {
        let Some(r) = self.live_regrade(id, RegradeStatus::Committing).await? else {
            return Ok(());
        };
        super::faults::before_regrade_write("commit", 0);
        let done = self.ports.store.commit_regrade(id).await?;
        if done.switched {
            self.policies.saw(r.to_version);
            self.metrics
                .regrade_tasks
                .with_label_values(&["commit"])
                .inc();
            tracing::info!(
                regrade = id,
                version = r.to_version,
                changed = done.changed,
                graded_at_commit = done.graded_at_commit,
                "regrade switched: the new grading policy is active"
            );
        }
        Ok(())
    }

    /// The regrade if it is in `phase`; `None` (nothing to do) once it has moved on.
    async fn live_regrade(
        &self,
        id: i64,
        phase: RegradeStatus,
    ) -> Result<Option<Regrade>, JobFailure> {
        let r = self
            .ports
            .store
            .regrade(id)
            .await?
            .ok_or_else(|| JobFailure::Permanent(format!("regrade {id} does not exist")))?;
        if r.status != phase {
            tracing::info!(
                regrade = id,
                status = r.status.as_str(),
                "regrade task has nothing to do"
            );
            return Ok(None);
        }
        Ok(Some(r))
    }
}
