//! Results (API mode): what a student may see — published course results by session and
//! semester, with GPA, CGPA and class of degree — served from the cache as ready-made JSON,
//! filled from the store. Concurrent misses of one key load once (the others wait for that
//! load), so a results-day rush on one popular page costs the store one query, not
//! thousands; how entries age, and what is served while the store fails, is in
//! [`super::results_cache`].
//!
//! A student sees a course only once its result is published; GPAs here are computed over
//! published courses only, by the core, at read time.

use super::results_cache::ResultsDoc;
use super::{Principal, ServiceError, ServiceResult, Services};
use eportal_core::gpa::{self, Attempt, Gpa};
use eportal_core::grading::{AbsencePolicy, ABSENT_GRADE};
use eportal_core::model::CourseRecord;
use eportal_core::workflow::WorkflowState;
use eportal_core::{AcademicSession, MatricNo, Role, Score, Semester};
use serde::{Deserialize, Serialize, Serializer};
use std::time::Duration;

/// The cache key of a student's results under grading policy book `policy`; the `v5`
/// changes whenever the view's shape or the cached form ([`ResultsDoc`]) does, so processes
/// of different versions never read each other's entries. With the book's version in the
/// key, a regrade's switch moves every process to new entries as soon as it knows of it:
/// nothing cached under the old book is served after that.
pub fn results_cache_key(policy: u32, matric: &MatricNo) -> String {
    format!("results:v5:p{policy}:{matric}")
}

/// Scores go out as JSON numbers (67.5); they are exact tenths everywhere else.
pub fn score_json<S: Serializer>(s: &Score, ser: S) -> Result<S::Ok, S::Error> {
    if s.tenths().is_multiple_of(10) {
        ser.serialize_u16(s.tenths() / 10)
    } else {
        ser.serialize_f64(s.tenths() as f64 / 10.0)
    }
}

/// The inverse of [`score_json`], for views read back from the cache.
fn score_from_json<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Score, D::Error> {
    let n = serde_json::Number::deserialize(d)?;
    Score::parse(&n.to_string()).map_err(serde::de::Error::custom)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CourseLine {
    pub code: String,
    pub title: String,
    pub units: u8,
    #[serde(serialize_with = "score_json", deserialize_with = "score_from_json")]
    pub ca: Score,
    #[serde(serialize_with = "score_json", deserialize_with = "score_from_json")]
    pub exam: Score,
    /// The total that was graded: CA + exam after the policy's rounding (44.5 is 45 under
    /// the default policy), so the grade beside it always follows from it.
    #[serde(serialize_with = "score_json", deserialize_with = "score_from_json")]
    pub total: Score,
    /// CA + exam as entered, before rounding.
    #[serde(serialize_with = "score_json", deserialize_with = "score_from_json")]
    pub exact_total: Score,
    pub grade: String,
    pub points: u8,
    /// Recorded absent from the exam (`ABS`): the grade reads `ABS`, the exam 0.
    pub absent: bool,
    /// Set when the score was changed by an amendment after publication.
    pub amended: Option<AmendedLine>,
}

/// The mark on an amended score: which amendment, and when it was applied (`on`, the UTC
/// date, as pages and documents print it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AmendedLine {
    pub amendment_id: i64,
    pub at_ms: i64,
    pub on: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SemesterView {
    pub session: AcademicSession,
    pub semester: Semester,
    pub courses: Vec<CourseLine>,
    pub units: u32,
    /// `None` (JSON `null`) when the semester has no credit units: no GPA, not 0.00.
    pub gpa: Option<Gpa>,
    /// `None` while no credit units have been counted at all, or while an earlier or this
    /// semester's GPA is withheld.
    pub cgpa: Option<Gpa>,
    /// Why the semester's GPA is withheld (an absence held as incomplete), if it is.
    pub withheld: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StudentResults {
    pub matric_no: MatricNo,
    pub name: String,
    pub programme: String,
    pub level: u16,
    /// The name of the student's grading policy (their cohort's, else the institution's).
    pub grading: String,
    /// The version of the policy book every grade, GPA and class here was computed under.
    #[serde(default)]
    pub policy_version: u32,
    pub max_points: u8,
    pub semesters: Vec<SemesterView>,
    /// `None` (JSON `null`) while no credit units have been counted: no CGPA, not 0.00.
    pub cgpa: Option<Gpa>,
    pub total_units: u32,
    /// The class of degree the CGPA so far earns.
    pub class_of_degree: Option<String>,
}

impl Services {
    /// A student's published results as ready-made JSON with its `ETag`: from the cache when
    /// it holds them (fresh, or past freshness while a refresh runs, or marked stale while
    /// the store fails), else loaded once however many ask together.
    pub async fn results_document(
        &self,
        who: &Principal,
        matric: &MatricNo,
    ) -> ServiceResult<ResultsDoc> {
        if !self.may_read_results(who, matric).await? {
            return Err(ServiceError::Forbidden(if who.has(Role::Student) {
                "you may see only your own results".into()
            } else {
                format!("{matric} is not a student of your department (HOD) or faculty (dean); only senate and the registry read every student's results")
            }));
        }
        self.policies.refresh_soon();
        let key = results_cache_key(self.policies.known_version(), matric);
        if let Some(mut doc) = self.cached_results(&key).await {
            let now = eportal_ports::now_ms();
            let failing = self.store_failing();
            if failing || now >= doc.fresh_until_ms() {
                self.refresh_in_background(matric, &key, now, failing);
            }
            doc.stale = failing;
            if failing {
                self.metrics.cache.with_label_values(&["stale"]).inc();
            }
            return Ok(doc);
        }
        self.load_coalesced(matric, &key).await
    }

    /// A student's published results as a view (the pages show it as tables), and whether it
    /// may be out of date.
    pub async fn student_results(
        &self,
        who: &Principal,
        matric: &MatricNo,
    ) -> ServiceResult<(StudentResults, bool)> {
        let doc = self.results_document(who, matric).await?;
        let view = serde_json::from_slice(doc.json())
            .map_err(|e| ServiceError::Internal(anyhow::Error::new(e).context("cached results")))?;
        Ok((view, doc.stale))
    }

    /// A student's results as the cache holds them, only if they are fresh and the store is
    /// answering: what can be sent at once with nothing else to do (no refresh, no stale
    /// marking). Counts nothing; `None` leaves the read to [`Services::results_document`].
    pub async fn fresh_cached_results(&self, matric: &MatricNo) -> Option<ResultsDoc> {
        if self.store_failing() {
            return None;
        }
        // Ask which book is active (in the background, at most once per refresh interval)
        // as the full path does: a portal whose reads are all answered here must still learn
        // of a regrade's switch, or it would serve the old book's entries until they expire.
        self.policies.refresh_soon();
        let raw = self
            .ports
            .cache
            .get(&results_cache_key(self.policies.known_version(), matric))
            .await
            .ok()??;
        let doc = ResultsDoc::decode(raw)?;
        (eportal_ports::now_ms() < doc.fresh_until_ms()).then_some(doc)
    }

    /// Whether results reads should count the store as failing: its last results read
    /// failed, or its circuit breaker is not closed.
    fn store_failing(&self) -> bool {
        self.results_reads.failing()
            || self.ports.breakers.store.state() != crate::breaker::State::Closed
    }

    async fn cached_results(&self, key: &str) -> Option<ResultsDoc> {
        let outcome = match self.ports.cache.get(key).await {
            Ok(Some(raw)) => match ResultsDoc::decode(raw) {
                Some(doc) => {
                    self.metrics.cache.with_label_values(&["hit"]).inc();
                    return Some(doc);
                }
                None => "miss",
            },
            Ok(None) => "miss",
            Err(e) => {
                tracing::debug!(error = %e, "cache unavailable; reading the store");
                "error"
            }
        };
        self.metrics.cache.with_label_values(&[outcome]).inc();
        None
    }

    /// The miss path: one load per key at a time, the whole wait bounded by the store
    /// timeout; a request that waited behind a load that failed fails too, without asking.
    async fn load_coalesced(&self, matric: &MatricNo, key: &str) -> ServiceResult<ResultsDoc> {
        let started = eportal_ports::now_ms();
        let limit = Duration::from_millis(self.config.results_store_timeout_ms);
        let stripe = self.results_reads.stripe(key);
        let load = async {
            let _one_load = stripe.lock().await;
            if let Some(doc) = self.cached_results(key).await {
                return Ok(doc);
            }
            if self.results_reads.failed_since(started) {
                return Err(ServiceError::Unavailable(
                    "the record store failed a results read just now".into(),
                ));
            }
            self.fill_results(matric).await
        };
        match tokio::time::timeout(limit, load).await {
            Ok(r) => r,
            Err(_) => {
                self.results_reads.note_failure(eportal_ports::now_ms());
                Err(ServiceError::Unavailable(format!(
                    "the record store did not answer a results read within {} ms",
                    limit.as_millis()
                )))
            }
        }
    }

    /// Loads a student's results from the store and caches them (hold the key's stripe).
    /// The entry goes under the key of the book the view was computed under, which is newer
    /// than the one this process looked under when a regrade switched since it last asked.
    async fn fill_results(&self, matric: &MatricNo) -> ServiceResult<ResultsDoc> {
        self.metrics.cache.with_label_values(&["load"]).inc();
        let view = match self.load_results(matric).await {
            Ok(v) => v,
            Err(e) => {
                if matches!(e, ServiceError::Unavailable(_)) {
                    self.results_reads.note_failure(eportal_ports::now_ms());
                }
                return Err(e);
            }
        };
        self.results_reads.note_success();
        let json = serde_json::to_vec(&view).map_err(|e| ServiceError::Internal(e.into()))?;
        let fresh = self.config.results_cache_ttl_secs.saturating_mul(1000);
        let doc = ResultsDoc::new(&json, eportal_ports::now_ms().saturating_add(fresh as i64));
        let keep = Duration::from_secs(self.config.results_stale_ttl_secs);
        let key = results_cache_key(view.policy_version, matric);
        if let Err(e) = self.ports.cache.put(&key, doc.as_cached(), keep).await {
            tracing::warn!(error = %e, "could not cache results");
        }
        Ok(doc)
    }

    /// Refreshes a cached entry after the request has been answered: at most one refresh of
    /// a key at a time (a key being loaded is not loaded again), and while the store is
    /// failing at most one probe per interval for the whole process.
    fn refresh_in_background(&self, matric: &MatricNo, key: &str, now_ms: i64, failing: bool) {
        if failing && !self.results_reads.take_probe(now_ms) {
            return;
        }
        let Ok(guard) = self.results_reads.stripe(key).try_lock_owned() else {
            return;
        };
        let (services, matric) = (self.clone(), matric.clone());
        tokio::spawn(async move {
            let limit = Duration::from_millis(services.config.results_store_timeout_ms);
            let refreshed = tokio::time::timeout(limit, services.fill_results(&matric));
            match refreshed.await {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::debug!(%matric, error = %e, "results refresh failed"),
                Err(_) => {
                    services.results_reads.note_failure(eportal_ports::now_ms());
                    tracing::debug!(%matric, "results refresh timed out");
                }
            }
            drop(guard);
        });
    }

    /// Loads a student's results into the cache whatever it holds (the warmer, after
    /// publication), waiting its turn behind any other load of the same student.
    pub async fn warm_results(&self, matric: &MatricNo) -> ServiceResult<()> {
        let key = results_cache_key(self.policies.known_version(), matric);
        let stripe = self.results_reads.stripe(&key);
        let _one_load = stripe.lock().await;
        self.fill_results(matric).await.map(drop)
    }

    /// Builds the view from the store (no cache).
    pub async fn load_results(&self, matric: &MatricNo) -> ServiceResult<StudentResults> {
        let store = &self.ports.store;
        let student = store.student(matric).await?.ok_or_else(|| {
            ServiceError::NotFound(format!("no student has matric number {matric}"))
        })?;
        // The records and the version of the book they were graded under, in one snapshot.
        let (records, version) = store.graded_records(matric).await?;
        let book = match version {
            Some(v) => {
                self.policies.saw(v);
                self.policies.book(v).await?
            }
            None => self.policies.active().await?,
        };
        let records: Vec<CourseRecord> = records
            .into_iter()
            .filter(|r| r.state == WorkflowState::Published)
            .collect();
        Ok(build_view(&student, &records, &book))
    }

    /// Drops cached results of these students (their records changed).
    pub async fn forget_results(&self, matrics: &[MatricNo]) {
        self.forget_results_under(self.policies.known_version(), matrics)
            .await
    }

    /// Drops cached results of these students computed under book `v` (the book their
    /// records were just written under).
    pub async fn forget_results_under(&self, v: u32, matrics: &[MatricNo]) {
        if matrics.is_empty() {
            return;
        }
        let keys: Vec<String> = matrics.iter().map(|m| results_cache_key(v, m)).collect();
        if let Err(e) = self.ports.cache.delete(&keys).await {
            tracing::warn!(error = %e, "could not invalidate cached results; they expire by TTL");
        }
    }
}

/// A GPA as people read it: "none" where there is none (no credit units, or withheld),
/// never 0.00.
pub fn gpa_words(gpa: Option<Gpa>) -> String {
    gpa.map_or_else(|| "none".to_string(), |g| g.to_string())
}

/// The student-facing view of published records (pure: easy to test).
///
/// An absence (`ABS`) counts as the policy says: as a failed course (its units, 0 points),
/// or as an incomplete result that withholds the semester's GPA, and the CGPA from that
/// semester on, until a score replaces it.
pub fn build_view(
    student: &eportal_core::model::Student,
    published: &[CourseRecord],
    book: &eportal_core::PolicyBook,
) -> StudentResults {
    let entry = student.entry_session;
    let policy = book.for_student(entry);
    let absent = |r: &CourseRecord| r.grade == ABSENT_GRADE;
    let held = |r: &CourseRecord| absent(r) && policy.absence == AbsencePolicy::Incomplete;
    let attempts: Vec<Attempt> = published
        .iter()
        .filter(|r| !held(r))
        .map(|r| Attempt {
            course: r.course_code.clone(),
            session: r.session,
            semester: r.semester,
            units: r.units,
            points: r.points,
        })
        .collect();
    let mut terms: Vec<(AcademicSession, Semester)> =
        published.iter().map(|r| (r.session, r.semester)).collect();
    terms.sort();
    terms.dedup();
    let summaries = gpa::summarise_terms(&terms, &attempts, policy);
    let mut held_since: Option<String> = None;
    let semesters: Vec<SemesterView> = summaries
        .iter()
        .map(|s| {
            let in_term = |r: &&CourseRecord| r.session == s.session && r.semester == s.semester;
            let mut courses: Vec<CourseLine> = published
                .iter()
                .filter(in_term)
                .map(|r| CourseLine {
                    code: r.course_code.to_string(),
                    title: r.course_title.clone(),
                    units: r.units,
                    ca: r.ca,
                    exam: r.exam,
                    total: book.for_record(entry, r.session).graded_total(r.total),
                    exact_total: r.total,
                    grade: r.grade.clone(),
                    points: r.points,
                    absent: absent(r),
                    amended: r.amended.map(|m| AmendedLine {
                        amendment_id: m.amendment_id,
                        at_ms: m.at_ms,
                        on: crate::pages::words::date(m.at_ms),
                    }),
                })
                .collect();
            courses.sort_by(|a, b| a.code.cmp(&b.code));
            let mut incomplete: Vec<String> = published
                .iter()
                .filter(in_term)
                .filter(|r| held(r))
                .map(|r| r.course_code.to_string())
                .collect();
            incomplete.sort();
            let withheld = (!incomplete.is_empty()).then(|| {
                format!(
                    "withheld: absent from the {} exam; the GPA counts once the absence is resolved",
                    incomplete.join(" and ")
                )
            });
            if held_since.is_none() {
                held_since.clone_from(&withheld);
            }
            SemesterView {
                session: s.session,
                semester: s.semester,
                courses,
                units: s.tally.units,
                gpa: gpa::over_units(s.tally, s.gpa).filter(|_| withheld.is_none()),
                cgpa: gpa::over_units(s.cumulative, s.cgpa).filter(|_| held_since.is_none()),
                withheld,
            }
        })
        .collect();
    let counted = gpa::Tally::of(gpa::counted(&attempts, policy));
    let cgpa =
        gpa::over_units(counted, counted.gpa(policy.gpa_rounding)).filter(|_| held_since.is_none());
    StudentResults {
        matric_no: student.matric_no.clone(),
        name: format!("{} {}", student.first_name, student.surname),
        programme: student.programme_code.clone(),
        level: student.level,
        grading: policy.name.clone(),
        policy_version: book.version,
        max_points: policy.max_points(),
        class_of_degree: cgpa.and_then(|c| policy.class_of_degree(c).map(str::to_string)),
        semesters,
        cgpa,
        total_units: counted.units,
    }
}

#[cfg(test)]
mod tests;
