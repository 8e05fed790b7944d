//! The lecturer's pages: "My courses" (`/courses`, the courses allocated to the signed-in
//! person, term by term) and one course in one term (`/courses/{course}/{session}/{semester}`):
//! where its result stands, its class list, the score-sheet template to download
//! (`…/template.csv`, `…/template.xlsx`), the upload form, the history of its sheets and the
//! "Submit for review" form (`POST …/submit`), and once published the amendment form and the
//! result's amendments. The upload itself and a sheet's own page are in [`super::sheets`];
//! amendments in [`super::amendments`].
//!
//! Everything shown comes from the services the API uses (`my_courses`, `class_list`,
//! `sheet_template`, `sheet_history`, `course_result_detail`, `course_action`), and they decide
//! who may see or do what. A form shown here is only an offer: what the service refuses is
//! shown as it says it. This module must never decide an access or a transition itself.

use super::csrf;
use super::errors::PageError;
use super::session::{PageSession, Signed};
use super::view::{render, Layout};
use super::words::{sentence, size_words, utc};
use crate::http::extract::{course_term, term_path};
use crate::services::sheet_template;
use crate::services::Services;
use askama::Template;
use axum::extract::rejection::{FormRejection, PathRejection};
use axum::extract::{Form, Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use eportal_core::model::CourseTerm;
use eportal_core::workflow::{Action, WorkflowState};
use eportal_core::MatricNo;
use serde::Deserialize;

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

pub(super) fn routes(t: Router<Services>) -> Router<Services> {
    let t = t
        .route("/courses", get(my_courses))
        .route("/courses/{course}/{session}/{semester}", get(course))
        .route(
            "/courses/{course}/{session}/{semester}/template.csv",
            get(template_csv),
        )
        .route(
            "/courses/{course}/{session}/{semester}/template.xlsx",
            get(template_xlsx),
        )
        .route(
            "/courses/{course}/{session}/{semester}/submit",
            post(submit),
        );
    super::sheets::routes(t)
}

/// The course term of a page's address, as the extractor found it.
pub(super) type TermPath = Result<Path<(String, String, String)>, PathRejection>;

/// The course term an address names, or the 404 page saying what is wrong with it.
pub(super) fn term_of(p: TermPath) -> Result<CourseTerm, PageError> {
    let Ok(Path((course, session, semester))) = p else {
        return Err(PageError::not_found());
    };
    course_term(Some(&course), Some(&session), Some(&semester)).map_err(|e| {
        let why: Vec<String> = e
            .errors
            .iter()
            .map(|f| format!("the {} {}", f.name, f.reason))
            .collect();
        PageError::new(
            StatusCode::NOT_FOUND,
            "No such course",
            format!(
                "This address does not name a course in a term ({}). Open the course from My courses.",
                why.join("; ")
            ),
        )
    })
}

/// The address of a course's page.
pub(super) fn course_href(term: &CourseTerm) -> String {
    format!("/courses/{}", term_path(term))
}

/// "2024/2025 session, first semester".
pub(super) fn term_heading(term: &CourseTerm) -> String {
    format!("{} session, {} semester", term.session, term.semester)
}

/// Where a course result stands, in the words a lecturer uses.
pub(super) fn state_words(state: WorkflowState, reason: Option<&str>) -> String {
    match state {
        WorkflowState::Draft => "draft".into(),
        WorkflowState::Submitted => "submitted for review".into(),
        WorkflowState::Returned => match reason.map(str::trim) {
            Some(r) if !r.is_empty() => format!("returned: {r}"),
            _ => "returned".into(),
        },
        other => other.label().into(),
    }
}

struct CourseLine {
    href: String,
    code: String,
    title: String,
    units: u8,
    students: usize,
    state: String,
    /// The newest sheet: its page, and its number and status.
    latest: Option<(String, String)>,
}

struct TermGroup {
    heading: String,
    courses: Vec<CourseLine>,
}

#[derive(Template)]
#[template(path = "courses.html")]
struct CoursesPage {
    layout: Layout,
    terms: Vec<TermGroup>,
}

async fn my_courses(State(services): State<Services>, Signed(s): Signed) -> Response {
    match courses_page(&services, &s).await {
        Ok(page) => render(StatusCode::OK, &page),
        Err(e) => e.into_response(),
    }
}

async fn courses_page(services: &Services, s: &PageSession) -> Result<CoursesPage, PageError> {
    let taught = services.my_courses(&s.who, None, None).await?;
    let mut terms: Vec<TermGroup> = Vec::new();
    for c in taught {
        let students = services.class_list(&s.who, &c.term).await?.students.len();
        // Only a returned result has a reason worth a second look-up.
        let reason = if c.state == WorkflowState::Returned {
            services
                .course_result_detail(&s.who, &c.term)
                .await?
                .state
                .reason
        } else {
            None
        };
        let line = CourseLine {
            href: course_href(&c.term),
            code: c.term.course_code.to_string(),
            title: c.title,
            units: c.units,
            students,
            state: state_words(c.state, reason.as_deref()),
            latest: c.latest_sheet.map(|(id, status)| {
                (
                    format!("/sheets/{id}"),
                    format!("sheet {id}, {}", status.as_str()),
                )
            }),
        };
        // `my_courses` lists the newest term first, so each term's courses are together.
        let heading = term_heading(&c.term);
        match terms.last_mut() {
            Some(g) if g.heading == heading => g.courses.push(line),
            _ => terms.push(TermGroup {
                heading,
                courses: vec![line],
            }),
        }
    }
    Ok(CoursesPage {
        layout: Layout::signed(s, "My courses"),
        terms,
    })
}

struct ClassLine {
    matric: String,
    name: String,
}

struct SheetLine {
    href: String,
    id: i64,
    when: String,
    by: String,
    file: String,
    status: String,
    accepted: u32,
    rejected: u32,
}

#[derive(Template)]
#[template(path = "course.html")]
pub(super) struct CoursePage {
    layout: Layout,
    href: String,
    code: String,
    title: String,
    units: u8,
    term: String,
    state: String,
    students: Vec<ClassLine>,
    sheets: Vec<SheetLine>,
    /// The core's rule of when a sheet may be uploaded, to offer the form (the service
    /// still decides when one arrives).
    uploads_open: bool,
    /// Offer "Submit for review" (the service decides when it is pressed).
    offer_submit: bool,
    /// Registered students with no score and no ABS, for the lecturer to confirm.
    unscored: Vec<String>,
    max_upload: String,
    /// Offer the amendment form (the result is published and the person may ask; the service
    /// still decides when the form arrives).
    amend_open: bool,
    amend_chain: String,
    amendments: Vec<AmendmentLine>,
    notice: Option<String>,
    error: Option<String>,
}

struct AmendmentLine {
    href: String,
    id: i64,
    when: String,
    by: String,
    reason: String,
    status: String,
}

/// The course page of `term` for `s`, with a confirmation or an error to show on it.
pub(super) async fn course_page(
    services: &Services,
    s: &PageSession,
    term: &CourseTerm,
    notice: Option<String>,
    error: Option<String>,
) -> Result<CoursePage, PageError> {
    let class = services.class_list(&s.who, term).await?;
    let detail = services.course_result_detail(&s.who, term).await?;
    let result = detail.state;
    let history = services.sheet_history(&s.who, term).await?;
    let amendments = services.amendments_of(&s.who, term).await?;
    // Only the course's lecturer and the registry may ask for an amendment.
    let may_amend =
        s.who.has(eportal_core::Role::Admin) || services.is_allocated(&s.who, term).await?;
    let code = class.course.code.to_string();
    let state = result.state;
    Ok(CoursePage {
        layout: Layout::signed(s, format!("{code} {}", term_heading(term))),
        href: course_href(term),
        title: class.course.title,
        units: class.course.units,
        term: term_heading(term),
        state: state_words(state, result.reason.as_deref()),
        students: class
            .students
            .into_iter()
            .map(|m| ClassLine {
                name: format!("{}, {}", m.surname, m.first_name),
                matric: m.matric_no,
            })
            .collect(),
        sheets: history
            .into_iter()
            .map(|e| {
                let sh = e.sheet;
                SheetLine {
                    href: format!("/sheets/{}", sh.id),
                    id: sh.id,
                    when: utc(sh.uploaded_at_ms),
                    by: e.uploader_name.unwrap_or(sh.uploaded_by),
                    file: sh.filename.unwrap_or_else(|| "(no name)".into()),
                    status: sh.status.as_str().to_string(),
                    accepted: sh.rows_accepted,
                    rejected: sh.rows_rejected,
                }
            })
            .collect(),
        uploads_open: state.accepts_uploads(),
        offer_submit: matches!(state, WorkflowState::Draft | WorkflowState::Returned),
        unscored: detail.unscored.iter().map(ToString::to_string).collect(),
        max_upload: size_words(services.config.limits.max_upload_bytes),
        amend_open: state == WorkflowState::Published && may_amend,
        amend_chain: services
            .config
            .workflow
            .amendment_chain()
            .roles()
            .iter()
            .map(|r| r.title())
            .collect::<Vec<_>>()
            .join(", then "),
        amendments: amendments
            .iter()
            .map(|a| AmendmentLine {
                href: format!("/amendments/{}", a.id),
                id: a.id,
                when: utc(a.requested_at_ms),
                by: a.requested_by.clone(),
                reason: a.reason.clone(),
                status: super::amendments::status_words(a),
            })
            .collect(),
        notice,
        error,
        code,
    })
}

/// A refusal of a form on the course page: shown on the page itself when the person may see
/// it and can act on the message (a file that is not a spreadsheet, too large, a result not
/// in a state to submit), else as an error page of its own.
pub(super) async fn refused_on_course_page(
    services: &Services,
    s: &PageSession,
    term: &CourseTerm,
    e: PageError,
) -> Response {
    let on_page = matches!(e.status.as_u16(), 400 | 409 | 413 | 415 | 422);
    if !on_page {
        return e.into_response();
    }
    match course_page(services, s, term, None, Some(sentence(&e.message))).await {
        Ok(page) => render(e.status, &page),
        Err(_) => e.into_response(),
    }
}

#[derive(Deserialize, Default)]
struct CourseQuery {
    submitted: Option<String>,
}

async fn course(
    State(services): State<Services>,
    Signed(s): Signed,
    p: TermPath,
    q: Result<Query<CourseQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let term = match term_of(p) {
        Ok(t) => t,
        Err(e) => return e.into_response(),
    };
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let notice = q.submitted.is_some().then(|| {
        "The result has been submitted for review. You can upload a sheet for it again only if a reviewer returns it to you.".to_string()
    });
    match course_page(&services, &s, &term, notice, None).await {
        Ok(page) => render(StatusCode::OK, &page),
        Err(e) => e.into_response(),
    }
}

async fn template_csv(
    State(services): State<Services>,
    Signed(s): Signed,
    p: TermPath,
) -> Response {
    template(&services, &s, p, false).await
}

async fn template_xlsx(
    State(services): State<Services>,
    Signed(s): Signed,
    p: TermPath,
) -> Response {
    template(&services, &s, p, true).await
}

/// The class as a score sheet to fill in, as a download.
async fn template(services: &Services, s: &PageSession, p: TermPath, xlsx: bool) -> Response {
    let term = match term_of(p) {
        Ok(t) => t,
        Err(e) => return e.into_response(),
    };
    let data = match services.sheet_template(&s.who, &term).await {
        Ok(d) => d,
        Err(e) => return PageError::from(e).into_response(),
    };
    let stem = sheet_template::file_stem(&term);
    let (bytes, content_type, name) = if xlsx {
        // Compressing the workbook is CPU work: keep it off the request threads.
        let made = tokio::task::spawn_blocking(move || sheet_template::xlsx(&data)).await;
        match made {
            Ok(Ok(bytes)) => (bytes, XLSX, format!("{stem}.xlsx")),
            Ok(Err(e)) => {
                return PageError::internal(&anyhow::anyhow!("writing the workbook: {e}"))
                    .into_response()
            }
            Err(e) => {
                return PageError::internal(&anyhow::anyhow!("template task failed: {e}"))
                    .into_response()
            }
        }
    } else {
        (
            sheet_template::csv(&data),
            "text/csv; charset=utf-8",
            format!("{stem}.csv"),
        )
    };
    let Ok(disposition) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) else {
        return PageError::internal(&anyhow::anyhow!("file name {name:?}")).into_response();
    };
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CONTENT_DISPOSITION, disposition),
            // Names of students: not for shared caches.
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, no-store"),
            ),
        ],
        bytes,
    )
        .into_response()
}

#[derive(Deserialize)]
struct SubmitForm {
    csrf: Option<String>,
    /// The unscored students the page listed, and whether the lecturer ticked the box.
    unscored: Option<String>,
    confirm_unscored: Option<String>,
}

async fn submit(
    State(services): State<Services>,
    Signed(s): Signed,
    p: TermPath,
    body: Result<Form<SubmitForm>, FormRejection>,
) -> Response {
    let Ok(Form(f)) = body else {
        return csrf::refused().into_response();
    };
    if let Err(e) = csrf::check(&services, &s, f.csrf.as_deref()) {
        return e.into_response();
    }
    let term = match term_of(p) {
        Ok(t) => t,
        Err(e) => return e.into_response(),
    };
    // The list the lecturer saw and confirmed; a student who became unscored since is not in
    // it, so the service refuses and the page shows the new list.
    let confirmed: Vec<MatricNo> = match (f.confirm_unscored.as_deref(), f.unscored.as_deref()) {
        (Some("yes"), Some(list)) => list
            .split(',')
            .filter_map(|m| MatricNo::parse(m.trim()).ok())
            .collect(),
        _ => vec![],
    };
    match services
        .course_action_confirmed(&s.who, &term, Action::Submit, &confirmed)
        .await
    {
        Ok(_) => Redirect::to(&format!("{}?submitted=1", course_href(&term))).into_response(),
        Err(e) => refused_on_course_page(&services, &s, &term, PageError::from(e)).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_and_messages_read_as_words() {
        assert_eq!(state_words(WorkflowState::Draft, None), "draft");
        assert_eq!(
            state_words(WorkflowState::Returned, Some(" fix row 3 ")),
            "returned: fix row 3"
        );
        assert_eq!(
            state_words(WorkflowState::Submitted, None),
            "submitted for review"
        );
    }
}
