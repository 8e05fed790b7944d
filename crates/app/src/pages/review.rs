//! The reviewers' pages: `/review`, the course results waiting for the signed-in HOD, dean or
//! senate member (`Services::review_queue`, as `GET /api/v1/me/review-queue` lists them), and
//! `/review/{course}/{session}/{semester}`, one result with its records, grade distribution,
//! pass rate, sheet history and the forms of the steps the reviewer may take now
//! (`Services::review_item`). The forms post to `…/approve`, `…/return` and `…/publish`,
//! which call `Services::course_action` exactly as the API's workflow routes do, and answer
//! with a 303 to the queue and a confirmation.
//!
//! Which results a reviewer sees and which forms they get are the services' decisions; this
//! module must never decide a transition or who may make it. A refusal is the service's,
//! shown as an error page (or, for a return without a reason, on the result's page).

use super::csrf;
use super::errors::PageError;
use super::session::{PageSession, Signed};
use super::view::{render, Layout};
use super::words::{sentence, utc};
use crate::http::extract::{course_term, term_path};
use crate::services::review::{GradeCount, Lecturer, QueueItem, ReviewItem};
use crate::services::{ServiceError, Services};
use askama::Template;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use eportal_core::model::CourseTerm;
use eportal_core::workflow::Action;
use serde::Deserialize;

pub(super) fn routes(t: Router<Services>) -> Router<Services> {
    const ITEM: &str = "/review/{course}/{session}/{semester}";
    t.route("/review", get(queue))
        .route(ITEM, get(item))
        .route(
            "/review/{course}/{session}/{semester}/approve",
            post(approve),
        )
        .route(
            "/review/{course}/{session}/{semester}/return",
            post(return_),
        )
        .route(
            "/review/{course}/{session}/{semester}/publish",
            post(publish),
        )
}

type TermParts = Path<(String, String, String)>;

/// The course term of an address, or a 404 page naming what is wrong with it.
fn term_of(Path((c, s, m)): TermParts) -> Result<CourseTerm, PageError> {
    course_term(Some(&c), Some(&s), Some(&m)).map_err(|e| {
        let why: Vec<String> = e.errors.iter().map(|f| f.reason.clone()).collect();
        PageError::new(
            StatusCode::NOT_FOUND,
            "No such course result",
            format!(
                "There is no course result at this address: {}. Open the result from your review queue.",
                why.join("; ")
            ),
        )
    })
}

/// "CSC 201, 2024/2025 first semester".
fn term_words(t: &CourseTerm) -> String {
    format!("{}, {} {} semester", t.course_code, t.session, t.semester)
}

fn pass_rate_words(passed: u32, students: u32, rate: Option<f64>) -> String {
    match rate {
        Some(r) => format!("{r:.1}% ({passed} of {students} passed)"),
        None => "none (no students have a record)".into(),
    }
}

fn lecturer_words(ls: &[Lecturer]) -> String {
    if ls.is_empty() {
        return "none allocated".into();
    }
    ls.iter()
        .map(|l| match &l.name {
            Some(n) => format!("{n} ({})", l.staff_id),
            None => l.staff_id.clone(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// One grade's line of a distribution table.
struct Band {
    grade: String,
    count: u32,
}

fn bands(d: Vec<GradeCount>) -> Vec<Band> {
    d.into_iter()
        .map(|g| Band {
            grade: g.grade,
            count: g.count,
        })
        .collect()
}

/// One result of the queue, in words.
struct QueueLine {
    code: String,
    title: String,
    term: String,
    path: String,
    state: &'static str,
    action: &'static str,
    lecturers: String,
    students: u32,
    bands: Vec<Band>,
    pass_rate: String,
    sheets: String,
    waiting_since: String,
}

impl From<QueueItem> for QueueLine {
    fn from(i: QueueItem) -> Self {
        let sheets = match (
            i.sheet_history.latest_status,
            i.sheet_history.latest_uploaded_at_ms,
        ) {
            (Some(status), Some(at)) => format!(
                "{} uploaded; the latest {} on {}",
                i.sheet_history.sheets,
                status.as_str(),
                utc(at)
            ),
            _ => "none uploaded".into(),
        };
        QueueLine {
            code: i.term.course_code.to_string(),
            term: format!("{} {} semester", i.term.session, i.term.semester),
            path: term_path(&i.term),
            state: i.state.label(),
            action: i.action,
            lecturers: lecturer_words(&i.lecturers),
            students: i.students,
            bands: bands(i.distribution),
            pass_rate: pass_rate_words(i.passed, i.students, i.pass_rate_percent),
            sheets,
            waiting_since: utc(i.waiting_since_ms),
            title: i.course_title,
        }
    }
}

#[derive(Template)]
#[template(path = "review.html")]
struct QueuePage {
    layout: Layout,
    notice: Option<String>,
    items: Vec<QueueLine>,
}

/// `?done=approved&course=CSC201&session=2024-2025&semester=first`, left by a step's form.
#[derive(Deserialize)]
struct Done {
    done: Option<String>,
    course: Option<String>,
    session: Option<String>,
    semester: Option<String>,
}

/// The confirmation of a step just taken; nothing for a query of any other shape (it is
/// only ever a link back to this page, never something to act on).
fn confirmation(q: &Done) -> Option<String> {
    let term = course_term(
        q.course.as_deref(),
        q.session.as_deref(),
        q.semester.as_deref(),
    )
    .ok()?;
    let what = match q.done.as_deref()? {
        "approved" => "has been approved and moves on to the next step of the approval",
        "returned" => "has been returned to its lecturer with your reason",
        "published" => "has been published: its students can now see their results",
        _ => return None,
    };
    Some(format!("{} {what}.", term_words(&term)))
}

async fn queue(
    State(services): State<Services>,
    Signed(s): Signed,
    q: Result<Query<Done>, QueryRejection>,
) -> Response {
    match services.review_queue(&s.who).await {
        Ok(items) => {
            let page = QueuePage {
                layout: Layout::signed(&s, "Results to review"),
                notice: q.ok().and_then(|Query(q)| confirmation(&q)),
                items: items.into_iter().map(QueueLine::from).collect(),
            };
            render(StatusCode::OK, &page)
        }
        Err(e) => PageError::from(e).into_response(),
    }
}

/// One student's record.
struct RecordLine {
    matric: String,
    ca: String,
    exam: String,
    total: String,
    grade: String,
}

/// One score sheet of the term.
struct SheetLine {
    id: i64,
    uploaded_at: String,
    uploaded_by: String,
    filename: String,
    status: &'static str,
    rows: String,
}

#[derive(Template)]
#[template(path = "review_item.html")]
struct ItemPage {
    layout: Layout,
    code: String,
    title: String,
    term: String,
    path: String,
    state: &'static str,
    /// The reason given when the result was last returned.
    returned_reason: Option<String>,
    last_moved: String,
    lecturers: String,
    department: String,
    students: u32,
    bands: Vec<Band>,
    pass_rate: String,
    records: Vec<RecordLine>,
    sheets: Vec<SheetLine>,
    may_approve: bool,
    may_return: bool,
    may_publish: bool,
    held_back: Option<String>,
    /// Why the return form was not accepted, and what was typed in it.
    error: Option<String>,
    reason: String,
}

fn item_page(
    s: &PageSession,
    term: &CourseTerm,
    i: ReviewItem,
    error: Option<String>,
    reason: String,
) -> ItemPage {
    let st = &i.detail.state;
    let last_moved = match &st.updated_by {
        Some(by) => format!("{} by {by}", utc(st.updated_at_ms)),
        None => "never".into(),
    };
    ItemPage {
        layout: Layout::signed(s, format!("Review {}", term.course_code)),
        code: term.course_code.to_string(),
        term: format!("{} {} semester", term.session, term.semester),
        path: term_path(term),
        state: st.state.label(),
        returned_reason: st.reason.clone(),
        last_moved,
        lecturers: lecturer_words(&i.lecturers),
        department: i.department_code,
        students: i.students,
        bands: bands(i.distribution),
        pass_rate: pass_rate_words(i.passed, i.students, i.pass_rate_percent),
        records: i
            .detail
            .records
            .into_iter()
            .map(|r| RecordLine {
                matric: r.matric_no.to_string(),
                ca: r.ca.to_string(),
                exam: r.exam.to_string(),
                total: r.total.to_string(),
                grade: r.grade,
            })
            .collect(),
        sheets: i
            .sheets
            .into_iter()
            .map(|e| SheetLine {
                id: e.sheet.id,
                uploaded_at: utc(e.sheet.uploaded_at_ms),
                uploaded_by: match e.uploader_name {
                    Some(n) => format!("{n} ({})", e.sheet.uploaded_by),
                    None => e.sheet.uploaded_by,
                },
                filename: e.sheet.filename.unwrap_or_default(),
                status: e.sheet.status.as_str(),
                rows: format!(
                    "{} accepted, {} rejected",
                    e.sheet.rows_accepted, e.sheet.rows_rejected
                ),
            })
            .collect(),
        may_approve: i.actions.contains(&"approve"),
        may_return: i.actions.contains(&"return"),
        may_publish: i.actions.contains(&"publish"),
        held_back: i.held_back,
        title: i.course_title,
        error,
        reason,
    }
}

async fn item(State(services): State<Services>, Signed(s): Signed, p: TermParts) -> Response {
    let term = match term_of(p) {
        Ok(t) => t,
        Err(e) => return e.into_response(),
    };
    match services.review_item(&s.who, &term).await {
        Ok(i) => render(
            StatusCode::OK,
            &item_page(&s, &term, i, None, String::new()),
        ),
        Err(e) => PageError::from(e).into_response(),
    }
}

#[derive(Deserialize)]
struct StepForm {
    csrf: Option<String>,
    #[serde(default)]
    reason: String,
}

type StepBody = Result<Form<StepForm>, FormRejection>;

async fn approve(
    State(sv): State<Services>,
    Signed(s): Signed,
    p: TermParts,
    f: StepBody,
) -> Response {
    step(&sv, &s, p, f, |_| Action::Approve).await
}

async fn return_(
    State(sv): State<Services>,
    Signed(s): Signed,
    p: TermParts,
    f: StepBody,
) -> Response {
    step(&sv, &s, p, f, |reason| Action::Return { reason }).await
}

async fn publish(
    State(sv): State<Services>,
    Signed(s): Signed,
    p: TermParts,
    f: StepBody,
) -> Response {
    step(&sv, &s, p, f, |_| Action::Publish).await
}

/// Checks the form's token, then asks the workflow service to take the step; a return the
/// service finds without a reason is shown again on the result's page with its message.
async fn step(
    services: &Services,
    s: &PageSession,
    p: TermParts,
    body: StepBody,
    action: impl FnOnce(String) -> Action,
) -> Response {
    let Ok(Form(f)) = body else {
        return csrf::refused().into_response();
    };
    if let Err(e) = csrf::check(services, s, f.csrf.as_deref()) {
        return e.into_response();
    }
    let term = match term_of(p) {
        Ok(t) => t,
        Err(e) => return e.into_response(),
    };
    let action = action(f.reason.clone());
    let done = match action {
        Action::Approve => "approved",
        Action::Return { .. } => "returned",
        _ => "published",
    };
    let is_return = matches!(action, Action::Return { .. });
    match services.course_action(&s.who, &term, action).await {
        Ok(_) => {
            let path = term_path(&term);
            let mut parts = path.split('/');
            let (c, se, m) = (
                parts.next().unwrap_or_default(),
                parts.next().unwrap_or_default(),
                parts.next().unwrap_or_default(),
            );
            Redirect::to(&format!(
                "/review?done={done}&course={c}&session={se}&semester={m}"
            ))
            .into_response()
        }
        Err(ServiceError::Invalid(message)) if is_return => {
            let message = sentence(&message);
            match services.review_item(&s.who, &term).await {
                Ok(i) => render(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    &item_page(s, &term, i, Some(message), f.reason),
                ),
                Err(e) => PageError::from(e).into_response(),
            }
        }
        Err(e) => PageError::from(e).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_known_confirmations_of_well_formed_terms_are_shown() {
        let q = |done: &str, course: &str| Done {
            done: Some(done.into()),
            course: Some(course.into()),
            session: Some("2024-2025".into()),
            semester: Some("first".into()),
        };
        assert_eq!(
            confirmation(&q("approved", "CSC201")).as_deref(),
            Some("CSC 201, 2024/2025 first semester has been approved and moves on to the next step of the approval.")
        );
        assert_eq!(confirmation(&q("deleted", "CSC201")), None);
        assert_eq!(confirmation(&q("approved", "<script>")), None);
    }
}
