//! Results (API mode): what a student may see — published course results by session and
//! semester, with GPA, CGPA and class of degree — served from the cache, filled from the
//! store. Concurrent misses of one key load once (the others wait for that load), so a
//! results-day rush on one popular page costs the store one query, not thousands.
//!
//! A student sees a course only once its result is published; GPAs here are computed over
//! published courses only, by the core, at read time.

use super::{Principal, ServiceError, ServiceResult, Services};
use eportal_core::gpa::{self, Attempt, Gpa};
use eportal_core::model::CourseRecord;
use eportal_core::workflow::WorkflowState;
use eportal_core::{AcademicSession, MatricNo, Role, Score, Semester};
use serde::{Deserialize, Serialize, Serializer};
use std::sync::OnceLock;
use std::time::Duration;
use tokio::sync::Mutex;

/// The cache key of a student's results; the `v1` changes whenever the view's shape does,
/// so processes of different versions never read each other's entries.
pub fn results_cache_key(matric: &MatricNo) -> String {
    format!("results:v1:{matric}")
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
    #[serde(serialize_with = "score_json", deserialize_with = "score_from_json")]
    pub total: Score,
    pub grade: String,
    pub points: u8,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SemesterView {
    pub session: AcademicSession,
    pub semester: Semester,
    pub courses: Vec<CourseLine>,
    pub units: u32,
    pub gpa: Gpa,
    pub cgpa: Gpa,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StudentResults {
    pub matric_no: MatricNo,
    pub name: String,
    pub programme: String,
    pub level: u16,
    pub grading: String,
    pub max_points: u8,
    pub semesters: Vec<SemesterView>,
    pub cgpa: Gpa,
    pub total_units: u32,
    /// The class of degree the CGPA so far earns.
    pub class_of_degree: Option<String>,
}

/// Striped locks for request coalescing: a bounded number, so memory never grows with keys.
fn stripe(key: &str) -> &'static Mutex<()> {
    static STRIPES: OnceLock<Vec<Mutex<()>>> = OnceLock::new();
    let s = STRIPES.get_or_init(|| (0..256).map(|_| Mutex::new(())).collect());
    let h = key.bytes().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100000001b3)
    });
    &s[(h % s.len() as u64) as usize]
}

impl Services {
    /// A student's published results, from the cache when possible.
    pub async fn student_results(
        &self,
        who: &Principal,
        matric: &MatricNo,
    ) -> ServiceResult<StudentResults> {
        if !self.may_read_results(who, matric).await? {
            return Err(ServiceError::Forbidden(if who.has(Role::Student) {
                "you may see only your own results".into()
            } else {
                format!("{matric} is not a student of your department (HOD) or faculty (dean); only senate and the registry read every student's results")
            }));
        }
        let key = results_cache_key(matric);
        if let Some(hit) = self.cached(&key).await {
            return Ok(hit);
        }
        let _one_load = stripe(&key).lock().await;
        if let Some(hit) = self.cached(&key).await {
            return Ok(hit);
        }
        let view = self.load_results(matric).await?;
        let ttl = Duration::from_secs(self.config.results_cache_ttl_secs);
        let bytes = serde_json::to_vec(&view).map_err(|e| ServiceError::Internal(e.into()))?;
        if let Err(e) = self.ports.cache.put(&key, &bytes, ttl).await {
            tracing::warn!(error = %e, "could not cache results");
        }
        Ok(view)
    }

    async fn cached(&self, key: &str) -> Option<StudentResults> {
        match self.ports.cache.get(key).await {
            Ok(Some(b)) => match serde_json::from_slice(&b) {
                Ok(v) => {
                    self.metrics.cache.with_label_values(&["hit"]).inc();
                    Some(v)
                }
                Err(_) => None,
            },
            Ok(None) => {
                self.metrics.cache.with_label_values(&["miss"]).inc();
                None
            }
            Err(e) => {
                self.metrics.cache.with_label_values(&["error"]).inc();
                tracing::debug!(error = %e, "cache unavailable; reading the store");
                None
            }
        }
    }

    /// Builds the view from the store (no cache).
    pub async fn load_results(&self, matric: &MatricNo) -> ServiceResult<StudentResults> {
        let store = &self.ports.store;
        let student = store.student(matric).await?.ok_or_else(|| {
            ServiceError::NotFound(format!("no student has matric number {matric}"))
        })?;
        let records: Vec<CourseRecord> = store
            .student_records(matric)
            .await?
            .into_iter()
            .filter(|r| r.state == WorkflowState::Published)
            .collect();
        Ok(build_view(&student, &records, &self.policy))
    }

    /// Drops cached results of these students (their records changed).
    pub async fn forget_results(&self, matrics: &[MatricNo]) {
        if matrics.is_empty() {
            return;
        }
        let keys: Vec<String> = matrics.iter().map(results_cache_key).collect();
        if let Err(e) = self.ports.cache.delete(&keys).await {
            tracing::warn!(error = %e, "could not invalidate cached results; they expire by TTL");
        }
    }
}

/// The student-facing view of published records (pure: easy to test).
pub fn build_view(
    student: &eportal_core::model::Student,
    published: &[CourseRecord],
    policy: &eportal_core::GradingPolicy,
) -> StudentResults {
    let attempts: Vec<Attempt> = published
        .iter()
        .map(|r| Attempt {
            course: r.course_code.clone(),
            session: r.session,
            semester: r.semester,
            units: r.units,
            points: r.points,
        })
        .collect();
    let summaries = gpa::summarise(&attempts, policy);
    let semesters: Vec<SemesterView> = summaries
        .iter()
        .map(|s| {
            let mut courses: Vec<CourseLine> = published
                .iter()
                .filter(|r| r.session == s.session && r.semester == s.semester)
                .map(|r| CourseLine {
                    code: r.course_code.to_string(),
                    title: r.course_title.clone(),
                    units: r.units,
                    ca: r.ca,
                    exam: r.exam,
                    total: r.total,
                    grade: r.grade.clone(),
                    points: r.points,
                })
                .collect();
            courses.sort_by(|a, b| a.code.cmp(&b.code));
            SemesterView {
                session: s.session,
                semester: s.semester,
                courses,
                units: s.tally.units,
                gpa: s.gpa,
                cgpa: s.cgpa,
            }
        })
        .collect();
    let cgpa = gpa::cgpa(&attempts, policy);
    let total_units = gpa::counted(&attempts, policy)
        .iter()
        .map(|a| a.units as u32)
        .sum();
    StudentResults {
        matric_no: student.matric_no.clone(),
        name: format!("{} {}", student.first_name, student.surname),
        programme: student.programme_code.clone(),
        level: student.level,
        grading: policy.name.clone(),
        max_points: policy.max_points(),
        class_of_degree: if attempts.is_empty() {
            None
        } else {
            policy.class_of_degree(cgpa).map(str::to_string)
        },
        semesters,
        cgpa,
        total_units,
    }
}
