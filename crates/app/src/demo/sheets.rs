//! The lecturers' score sheets of the demo: one CSV per course, shaped like an Excel export
//! (serial number, matric number, name, CA, exam), with realistic scores — CA mostly 15–38,
//! exam mostly 15–58, following each student's aptitude, with a long tail of failures — and a
//! few deliberately bad rows, so the pipeline's row-level errors show up in the demo.
//! Deterministic: the same university and seed give byte-identical sheets.

use super::university::University;
use eportal_core::CourseCode;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::fmt::Write;

/// The mistakes lecturers make, one kind of bad row each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Defect {
    UnknownMatric,
    NotRegistered,
    ExamAboveMaximum,
    Duplicate,
    MissingExam,
    NotANumber,
}

const DEFECTS: [Defect; 6] = [
    Defect::UnknownMatric,
    Defect::NotRegistered,
    Defect::ExamAboveMaximum,
    Defect::Duplicate,
    Defect::MissingExam,
    Defect::NotANumber,
];

pub struct Sheet {
    pub course: CourseCode,
    pub csv: Vec<u8>,
    pub defects: Vec<Defect>,
}

struct Line {
    matric: String,
    name: String,
    ca: String,
    exam: String,
}

/// CA and exam of a student of this aptitude (0–100), as a lecturer would type them.
fn scores(rng: &mut StdRng, aptitude: u8) -> (String, String) {
    let a = aptitude as i32;
    let ca = (15 + a * 23 / 100 + rng.gen_range(-4..=4)).clamp(0, 40);
    let mut exam = (15 + a * 43 / 100 + rng.gen_range(-9..=9)).clamp(0, 60);
    if rng.gen_ratio(1, 14) {
        // Did not prepare, or sat the exam ill: the long tail of failures.
        exam = rng.gen_range(4..=22);
    }
    let ca = if ca < 40 && rng.gen_ratio(1, 12) {
        format!("{ca}.5")
    } else {
        ca.to_string()
    };
    (ca, exam.to_string())
}

/// The sheet of course number `index` (in `u.courses`), or None if nobody takes it.
pub fn sheet(u: &University, index: usize, seed: u64) -> Option<Sheet> {
    let course = &u.courses[index];
    let class = u.class_lists.get(&course.code).filter(|c| !c.is_empty())?;
    let mut rng =
        StdRng::seed_from_u64(seed ^ (index as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let mut lines: Vec<Line> = class
        .iter()
        .map(|&s| {
            let st = &u.students[s];
            let (ca, exam) = scores(&mut rng, u.aptitude[s]);
            Line {
                matric: st.matric_no.to_string(),
                name: format!("{} {}", st.surname.to_uppercase(), st.first_name),
                ca,
                exam,
            }
        })
        .collect();
    let mut defects = vec![DEFECTS[index % DEFECTS.len()]];
    if rng.gen_ratio(1, 3) {
        defects.push(DEFECTS[(index + rng.gen_range(1..DEFECTS.len())) % DEFECTS.len()]);
    }
    let mut planted = Vec::with_capacity(defects.len());
    // A sheet keeps at least one good row of its class: one in which no row can be accepted is
    // rejected as a whole, and the demo's courses must each end with results to publish.
    let class_size = lines.len();
    let mut spoiled = std::collections::HashSet::new();
    for d in defects {
        let at = rng.gen_range(0..lines.len());
        let in_place = matches!(
            d,
            Defect::ExamAboveMaximum | Defect::MissingExam | Defect::NotANumber
        );
        // The class row a defect spoils: its own, or the one a planted copy repeats (a copy
        // with other scores makes both rows unacceptable).
        let target = match at < class_size {
            true => Some(at),
            false => lines[..class_size]
                .iter()
                .position(|l| l.matric == lines[at].matric),
        };
        if let (true, Some(t)) = (in_place, target) {
            if !spoiled.contains(&t) && class_size - spoiled.len() <= 1 {
                continue;
            }
            spoiled.insert(t);
        }
        planted.push(d);
        match d {
            Defect::UnknownMatric => lines.push(Line {
                // No cohort entered in 1999, so no student has this number.
                matric: format!(
                    "{}/1999/{:04}",
                    course.department_code,
                    rng.gen_range(1..=9999)
                ),
                name: "UNKNOWN Student".into(),
                ca: "20".into(),
                exam: "40".into(),
            }),
            Defect::NotRegistered => {
                let outsider = (0..64)
                    .map(|_| rng.gen_range(0..u.students.len()))
                    .find(|&s| u.department_of(&u.students[s]) != course.department_code);
                match outsider {
                    Some(s) => {
                        let st = &u.students[s];
                        lines.push(Line {
                            matric: st.matric_no.to_string(),
                            name: format!("{} {}", st.surname.to_uppercase(), st.first_name),
                            ca: "25".into(),
                            exam: "41".into(),
                        });
                    }
                    // A university of one department has nobody from outside it.
                    None => {
                        planted.pop();
                    }
                }
            }
            Defect::ExamAboveMaximum => lines[at].exam = rng.gen_range(61..=75).to_string(),
            Defect::Duplicate => {
                let copy = Line {
                    matric: lines[at].matric.clone(),
                    name: lines[at].name.clone(),
                    ca: lines[at].ca.clone(),
                    exam: lines[at].exam.clone(),
                };
                lines.push(copy);
            }
            Defect::MissingExam => lines[at].exam = String::new(),
            Defect::NotANumber => lines[at].ca = "1O".into(),
        }
    }
    let mut csv = String::with_capacity(48 * (lines.len() + 1));
    csv.push_str("S/N,Matric No,Name,CA (40),Exam (60)\r\n");
    for (i, l) in lines.iter().enumerate() {
        let _ = write!(
            csv,
            "{},{},{},{},{}\r\n",
            i + 1,
            l.matric,
            l.name,
            l.ca,
            l.exam
        );
    }
    Some(Sheet {
        course: course.code.clone(),
        csv: csv.into_bytes(),
        defects: planted,
    })
}

#[cfg(test)]
mod tests {
    use super::super::university::generate;
    use super::*;
    use eportal_core::sheet::{self, SheetLimits};
    use eportal_core::Score;

    #[test]
    fn sheets_parse_and_carry_their_bad_rows() {
        let u = generate(11, 600);
        let mut seen = Vec::new();
        for i in 0..12 {
            let s = sheet(&u, i, 5).expect("every course has students");
            let parsed = sheet::parse(&s.csv, &SheetLimits::default()).expect("a readable sheet");
            let class = u.class_lists[&s.course].len();
            assert!(
                parsed.rows.len() >= class,
                "every registered student is listed"
            );
            seen.extend(s.defects);
        }
        for d in DEFECTS {
            assert!(seen.contains(&d), "{d:?} appears in the first sheets");
        }
    }

    #[test]
    fn scores_stay_in_range_and_mostly_pass() {
        let mut rng = StdRng::seed_from_u64(1);
        let (mut fails, n) = (0, 5000);
        for i in 0..n {
            let (ca, exam) = scores(&mut rng, (i % 101) as u8);
            let (ca, exam) = (Score::parse(&ca).unwrap(), Score::parse(&exam).unwrap());
            assert!(ca <= Score::from_marks(40) && exam <= Score::from_marks(60));
            if ca.tenths() + exam.tenths() < 400 {
                fails += 1;
            }
        }
        assert!(fails > n / 50 && fails < n / 4, "{fails} failures of {n}");
    }
}
