//! The grading policy: an institution's rules as data (score maxima, grade bands, pass mark,
//! rounding, retake rule, classes of degree). Nothing here is hard-coded elsewhere: the
//! Nigerian 5-point scale is only the default value of this type. A policy must never be
//! used to grade before [`GradingPolicy::validate`] has accepted it.

use crate::domain::Score;
use crate::gpa::Gpa;
use serde::{Deserialize, Serialize};

/// One grade band: totals from `min_total` (inclusive) up to the next band earn `grade`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GradeBand {
    pub grade: String,
    pub min_total: Score,
    pub points: u8,
}

/// A class of degree awarded from `min_cgpa` (inclusive) up to the next class.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DegreeClass {
    pub name: String,
    pub min_cgpa: Gpa,
}

/// How a total with a decimal is turned into the mark that is graded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TotalRounding {
    /// Round half up to a whole mark before grading (69.5 grades as 70).
    WholeHalfUp,
    /// Grade the exact total (69.5 grades as 69.5, below 70).
    Exact,
}

/// How a GPA is rounded to two decimal places: once, at the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GpaRounding {
    HalfUp,
    Truncate,
}

/// Whether a retaken course's new attempt replaces the failed one in the CGPA or is added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RetakePolicy {
    /// Every attempt stays on the record and counts (the default).
    AllAttemptsCount,
    /// Only the latest attempt of a course counts toward the CGPA.
    LatestReplaces,
}

/// How a student recorded absent from the exam (`ABS` on the sheet) counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AbsencePolicy {
    /// As a failed course: its units count, with 0 points (the default).
    #[default]
    Fail,
    /// As an incomplete result: the semester's GPA (and the CGPA from then on) is withheld
    /// until the absence is resolved by a score.
    Incomplete,
}

/// The grade recorded for a student absent from the exam, whatever the policy's bands are
/// (a policy may not name a band `ABS`).
pub const ABSENT_GRADE: &str = "ABS";

/// An institution's grading rules. Scores are in tenths of a mark, CGPA thresholds in
/// hundredths of a point, so nothing here is a float.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GradingPolicy {
    pub name: String,
    pub ca_max: Score,
    pub exam_max: Score,
    /// Bands in any order; grading picks the highest band whose minimum the total reaches.
    pub bands: Vec<GradeBand>,
    pub pass_mark: Score,
    pub total_rounding: TotalRounding,
    pub gpa_rounding: GpaRounding,
    pub retake: RetakePolicy,
    /// How an absence from the exam counts; policies written before it existed fail it.
    #[serde(default)]
    pub absence: AbsencePolicy,
    /// Classes in any order; the highest class whose minimum the CGPA reaches is awarded.
    pub classes: Vec<DegreeClass>,
}

/// The grade a total earns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Graded {
    pub grade: String,
    pub points: u8,
    pub passed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("grading policy has no grade bands")]
    NoBands,
    #[error("grading policy needs a band starting at 0 so every total gets a grade")]
    NoZeroBand,
    #[error("two grade bands start at the same total {0}")]
    DuplicateBand(Score),
    #[error("grade points must not fall as the total rises (band {0})")]
    PointsNotMonotone(String),
    #[error("CA maximum plus exam maximum must be more than 0 and at most 100")]
    BadMaxima,
    #[error("pass mark {0} is above the highest possible total")]
    BadPassMark(Score),
    #[error("a grade band or class of degree has a blank name")]
    BlankName,
    #[error("grade {0} appears in more than one band")]
    DuplicateGrade(String),
    #[error("grade band {0} starts above the highest possible total")]
    BandAboveMaximum(String),
    #[error(
        "pass mark {0} falls inside a grade band; it must be where a band starts, so a grade \
         is either always a pass or always a fail"
    )]
    PassMarkInsideBand(Score),
    #[error("grade {0} is below the pass mark but earns points; a failed course earns 0")]
    FailingGradeEarnsPoints(String),
    #[error(
        "a grade band is named {ABSENT_GRADE}, which is kept for students absent from the exam"
    )]
    AbsentGradeTaken,
    #[error("two classes of degree start at the same CGPA {0}")]
    DuplicateClass(Gpa),
    #[error("class of degree {0} starts above the top of the grade-point scale")]
    ClassAboveScale(String),
}

fn band(grade: &str, min_marks: u16, points: u8) -> GradeBand {
    GradeBand {
        grade: grade.to_string(),
        min_total: Score::from_marks(min_marks),
        points,
    }
}

fn class(name: &str, min_hundredths: u16) -> DegreeClass {
    DegreeClass {
        name: name.to_string(),
        min_cgpa: Gpa::from_hundredths(min_hundredths),
    }
}

impl Default for GradingPolicy {
    fn default() -> Self {
        Self::nigerian_five_point()
    }
}

impl GradingPolicy {
    /// The NUC 5-point scale: A 70–100 = 5, B 60–69 = 4, C 50–59 = 3, D 45–49 = 2,
    /// E 40–44 = 1, F 0–39 = 0; CA ≤ 40, exam ≤ 60.
    pub fn nigerian_five_point() -> Self {
        GradingPolicy {
            name: "Nigerian 5-point scale".into(),
            ca_max: Score::from_marks(40),
            exam_max: Score::from_marks(60),
            bands: vec![
                band("A", 70, 5),
                band("B", 60, 4),
                band("C", 50, 3),
                band("D", 45, 2),
                band("E", 40, 1),
                band("F", 0, 0),
            ],
            pass_mark: Score::from_marks(40),
            total_rounding: TotalRounding::WholeHalfUp,
            gpa_rounding: GpaRounding::HalfUp,
            retake: RetakePolicy::AllAttemptsCount,
            absence: AbsencePolicy::Fail,
            classes: vec![
                class("First Class", 450),
                class("Second Class Upper", 350),
                class("Second Class Lower", 240),
                class("Third Class", 150),
                class("Pass", 100),
            ],
        }
    }

    /// The 5-point scale without E (universities that abolished it): F is 0–44, pass mark 45.
    pub fn five_point_without_e() -> Self {
        let mut p = Self::nigerian_five_point();
        p.name = "5-point scale without E".into();
        p.bands.retain(|b| b.grade != "E");
        p.pass_mark = Score::from_marks(45);
        p
    }

    /// A 4-point scale: A 70+ = 4, B 60–69 = 3, C 50–59 = 2, D 45–49 = 1, F = 0.
    pub fn four_point() -> Self {
        GradingPolicy {
            name: "4-point scale".into(),
            bands: vec![
                band("A", 70, 4),
                band("B", 60, 3),
                band("C", 50, 2),
                band("D", 45, 1),
                band("F", 0, 0),
            ],
            pass_mark: Score::from_marks(45),
            classes: vec![
                class("First Class", 350),
                class("Second Class Upper", 300),
                class("Second Class Lower", 200),
                class("Third Class", 100),
            ],
            ..Self::nigerian_five_point()
        }
    }

    /// Checks the policy makes sense before it is stored or used. Grading with a policy
    /// that fails this check gives meaningless grades, so every policy read from a person
    /// or from storage goes through here (see [`GradingPolicy::from_json`]).
    pub fn validate(&self) -> Result<(), PolicyError> {
        if self.bands.is_empty() {
            return Err(PolicyError::NoBands);
        }
        let max = self.ca_max.tenths() as u32 + self.exam_max.tenths() as u32;
        if max == 0 || max > 1000 {
            return Err(PolicyError::BadMaxima);
        }
        if self.pass_mark.tenths() as u32 > max {
            return Err(PolicyError::BadPassMark(self.pass_mark));
        }
        let blank = |n: &str| n.trim().is_empty();
        if self.bands.iter().any(|b| blank(&b.grade)) || self.classes.iter().any(|c| blank(&c.name))
        {
            return Err(PolicyError::BlankName);
        }
        if self
            .bands
            .iter()
            .any(|b| b.grade.trim().eq_ignore_ascii_case(ABSENT_GRADE))
        {
            return Err(PolicyError::AbsentGradeTaken);
        }
        let mut sorted = self.bands.clone();
        sorted.sort_by_key(|b| b.min_total);
        if sorted[0].min_total != Score::ZERO {
            return Err(PolicyError::NoZeroBand);
        }
        for w in sorted.windows(2) {
            if w[0].min_total == w[1].min_total {
                return Err(PolicyError::DuplicateBand(w[1].min_total));
            }
            if w[1].points < w[0].points {
                return Err(PolicyError::PointsNotMonotone(w[1].grade.clone()));
            }
        }
        if !sorted.iter().any(|b| b.min_total == self.pass_mark) {
            return Err(PolicyError::PassMarkInsideBand(self.pass_mark));
        }
        for (i, b) in sorted.iter().enumerate() {
            if sorted[..i].iter().any(|o| o.grade == b.grade) {
                return Err(PolicyError::DuplicateGrade(b.grade.clone()));
            }
            if b.min_total.tenths() as u32 > max {
                return Err(PolicyError::BandAboveMaximum(b.grade.clone()));
            }
            if b.min_total < self.pass_mark && b.points > 0 {
                return Err(PolicyError::FailingGradeEarnsPoints(b.grade.clone()));
            }
        }
        let top = Gpa::from_points(self.max_points());
        let mut classes: Vec<&DegreeClass> = self.classes.iter().collect();
        classes.sort_by_key(|c| c.min_cgpa);
        for w in classes.windows(2) {
            if w[0].min_cgpa == w[1].min_cgpa {
                return Err(PolicyError::DuplicateClass(w[1].min_cgpa));
            }
        }
        if let Some(c) = classes.iter().find(|c| c.min_cgpa > top) {
            return Err(PolicyError::ClassAboveScale(c.name.clone()));
        }
        Ok(())
    }

    /// Reads a stored policy (it is kept as JSON) and validates it, so a policy that was
    /// edited by hand into nonsense is refused with the reason instead of mis-grading.
    pub fn from_json(s: &str) -> Result<Self, String> {
        let p: GradingPolicy =
            serde_json::from_str(s).map_err(|e| format!("unreadable grading policy: {e}"))?;
        p.validate()
            .map_err(|e| format!("invalid grading policy: {e}"))?;
        Ok(p)
    }

    /// The policy as the JSON that [`GradingPolicy::from_json`] reads back.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a grading policy always serialises")
    }

    /// The highest total a sheet may carry (CA maximum + exam maximum).
    pub fn total_max(&self) -> Score {
        // Saturating: an unvalidated policy must not panic here; validate() refuses it.
        Score::from_tenths(self.ca_max.tenths().saturating_add(self.exam_max.tenths()))
    }

    /// The most points any grade earns: the top of the GPA scale.
    pub fn max_points(&self) -> u8 {
        self.bands.iter().map(|b| b.points).max().unwrap_or(0)
    }

    /// The total that is graded, after the policy's rounding.
    pub fn graded_total(&self, total: Score) -> Score {
        match self.total_rounding {
            TotalRounding::Exact => total,
            TotalRounding::WholeHalfUp => {
                let t = total.tenths() as u32;
                let rounded = (t + 5) / 10 * 10;
                Score::from_tenths(u16::try_from(rounded).unwrap_or(total.tenths() / 10 * 10))
            }
        }
    }

    /// The grade and points a total earns.
    ///
    /// # Panics
    /// If the policy has no band starting at 0, which [`GradingPolicy::validate`] refuses.
    pub fn grade(&self, total: Score) -> Graded {
        let t = self.graded_total(total);
        let band = self
            .bands
            .iter()
            .filter(|b| b.min_total <= t)
            .max_by_key(|b| b.min_total)
            .expect("grading needs a validated policy: it has a band starting at 0");
        Graded {
            grade: band.grade.clone(),
            points: band.points,
            passed: t >= self.pass_mark,
        }
    }

    /// The class of degree a final CGPA earns, if any.
    pub fn class_of_degree(&self, cgpa: Gpa) -> Option<&str> {
        self.classes
            .iter()
            .filter(|c| c.min_cgpa <= cgpa)
            .max_by_key(|c| c.min_cgpa)
            .map(|c| c.name.as_str())
    }
}
