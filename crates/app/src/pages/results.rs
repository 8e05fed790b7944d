//! The student's results page: published results by session and semester with CA, exam,
//! total, grade, points and units, each semester's GPA and the CGPA so far, and the class of
//! degree — the view `Services::student_results` builds for the API, shown as tables. The
//! service decides whose results a person may read; this page only asks for the signed-in
//! person's own. When the service could only give the copy it kept (the records cannot be
//! reached), the page says the results may be out of date.

use super::errors::PageError;
use super::semester_rows::Row;
use super::session::Signed;
use super::view::{render, Layout};
use crate::services::results::{gpa_words, StudentResults};
use crate::services::Services;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use eportal_core::{AcademicSession, MatricNo, Role, Semester};

pub(super) fn routes(t: Router<Services>) -> Router<Services> {
    t.route("/results", get(results))
}

struct Term {
    heading: String,
    rows: Vec<Row>,
    units: u32,
    gpa: String,
    cgpa: String,
    /// Why the GPA is withheld (an absence held as incomplete).
    withheld: Option<String>,
    /// This semester's result slip (PDF), when the page offers downloads.
    slip_href: Option<String>,
}

#[derive(Template)]
#[template(path = "results.html")]
struct ResultsPage {
    layout: Layout,
    matric: String,
    name: String,
    programme: String,
    level: u16,
    grading: String,
    /// The grading policy version every grade and GPA on the page was computed under.
    policy_version: u32,
    terms: Vec<Term>,
    cgpa: String,
    max_points: u8,
    total_units: u32,
    class_of_degree: Option<String>,
    /// Shown from a kept copy while the records cannot be reached.
    stale: bool,
    /// The transcript (PDF), when the page offers downloads.
    transcript_href: Option<String>,
}

/// Where a student's transcript is downloaded from a page.
pub(super) fn transcript_href(matric: &str) -> String {
    format!("/students/{}/transcript.pdf", matric.replace('/', "%2F"))
}

/// Where a student's result slip of one semester is downloaded from a page.
pub(super) fn slip_href(matric: &str, session: AcademicSession, semester: Semester) -> String {
    format!(
        "/students/{}/results/{}-{}/{semester}/slip.pdf",
        matric.replace('/', "%2F"),
        session.start_year(),
        session.start_year() + 1
    )
}

/// The results page; `downloads` adds the links to the transcript and result slips (not on
/// a results link's page, whose holder may not be signed in).
pub(super) fn page(
    layout: Layout,
    r: StudentResults,
    stale: bool,
    downloads: bool,
) -> impl askama::Template {
    let matric = r.matric_no.to_string();
    let terms: Vec<Term> = r
        .semesters
        .into_iter()
        .map(|s| Term {
            slip_href: downloads.then(|| slip_href(&matric, s.session, s.semester)),
            heading: format!(
                "{} session, {} semester",
                s.session,
                match s.semester {
                    Semester::First => "first",
                    Semester::Second => "second",
                }
            ),
            rows: s.courses.into_iter().map(Row::of_line).collect(),
            units: s.units,
            gpa: gpa_words(s.gpa),
            cgpa: gpa_words(s.cgpa),
            withheld: s.withheld,
        })
        .collect();
    ResultsPage {
        layout,
        transcript_href: (downloads && !terms.is_empty()).then(|| transcript_href(&matric)),
        matric,
        name: r.name,
        programme: r.programme,
        level: r.level,
        grading: r.grading,
        policy_version: r.policy_version,
        terms,
        cgpa: gpa_words(r.cgpa),
        max_points: r.max_points,
        total_units: r.total_units,
        class_of_degree: r.class_of_degree,
        stale,
    }
}

async fn results(State(services): State<Services>, Signed(s): Signed) -> Response {
    // A student's username is their matric number; other accounts have no results of their
    // own (whose results anyone may read is still the service's to decide, below).
    let own = s
        .who
        .has(Role::Student)
        .then(|| MatricNo::parse(&s.who.username));
    let Some(Ok(matric)) = own else {
        return PageError::new(
            StatusCode::FORBIDDEN,
            "No results for this account",
            "This page shows a student's own results, and you are not signed in as a student.",
        )
        .into_response();
    };
    match services.student_results(&s.who, &matric).await {
        Ok((r, stale)) => render(
            StatusCode::OK,
            &page(Layout::signed(&s, "Your results"), r, stale, true),
        ),
        Err(e) => PageError::from(e).into_response(),
    }
}
