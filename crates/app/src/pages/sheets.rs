//! Score sheets in the pages: the upload form's target
//! (`POST /courses/{course}/{session}/{semester}/sheets`, a multipart form with `csrf` and
//! `file`), which records the file through `Services::upload_sheet` exactly as
//! `POST /api/v1/score-sheets` does and sends the browser to the sheet's page; and that page,
//! `/sheets/{id}`: the sheet's status from `Services::sheet_report` (which decides who may
//! read it), refreshing itself every 2 seconds while the sheet waits for a worker, then its
//! counts and its rejected rows, 100 at a time (`?errors_offset=`).
//!
//! The upload's body is bounded here, by the configured largest sheet plus room for the form
//! around it: the pages' 16 KB form limit is lifted for this route alone and this bound put
//! in its place. The CSRF field comes before the file in the form, and a file that arrives
//! before a valid token is not read at all. This module must never parse a sheet's rows:
//! that is the worker's job.

use super::courses::{course_href, refused_on_course_page, term_heading, term_of, TermPath};
use super::csrf;
use super::errors::PageError;
use super::session::{PageSession, Signed};
use super::view::{render, Layout};
use super::words::{sentence, size_words, utc};
use crate::http::extract::RequestId;
use crate::services::sheets::Upload;
use crate::services::Services;
use askama::Template;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Path, Query, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use eportal_core::model::CourseTerm;
use eportal_ports::{SheetChanges, SheetMode, SheetStatus};
use futures_util::StreamExt;
use serde::Deserialize;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Room for the multipart boundaries and the CSRF field around the file.
const MULTIPART_OVERHEAD: usize = 64 * 1024;

/// Rejected rows listed on one page.
const ERRORS_PAGE: usize = 100;

pub(super) fn routes(t: Router<Services>) -> Router<Services> {
    t.route(
        "/courses/{course}/{session}/{semester}/sheets",
        // The pages' form limit does not fit a file: `upload` bounds the body itself.
        post(upload).layer(DefaultBodyLimit::disable()),
    )
    .route("/sheets/{id}", get(sheet))
    .route("/sheets/{id}/confirm", post(confirm))
}

/// `body`, failing once more than `limit` bytes have come (and saying so in `over`).
fn bounded(body: Body, limit: usize, over: Arc<AtomicBool>) -> Body {
    let mut seen = 0usize;
    Body::from_stream(body.into_data_stream().map(move |chunk| {
        let chunk = chunk.map_err(std::io::Error::other)?;
        seen = seen.saturating_add(chunk.len());
        if seen > limit {
            over.store(true, Ordering::Relaxed);
            return Err(std::io::Error::other("the upload is larger than allowed"));
        }
        Ok(chunk)
    }))
}

/// What the upload form sent, or why it cannot be used.
enum Sent {
    File(Option<String>, Vec<u8>, SheetMode),
    /// No valid CSRF token before the file.
    Forged,
    /// An error to show on the course page.
    Unusable(PageError),
}

fn too_large(services: &Services) -> PageError {
    let max = services.config.limits.max_upload_bytes;
    PageError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "Too large",
        format!(
            "The file is larger than the {} accepted for a score sheet. Remove anything but the score columns, or save it as .csv, and upload it again.",
            size_words(max)
        ),
    )
}

/// Reads the upload form: the CSRF token first (checked as soon as it is read), then the file.
async fn read_form(services: &Services, s: &PageSession, req: Request) -> Sent {
    let limit = services.config.limits.max_upload_bytes + MULTIPART_OVERHEAD;
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Sent::Unusable(too_large(services));
    }
    let over = Arc::new(AtomicBool::new(false));
    let req = req.map(|b| bounded(b, limit, over.clone()));
    let Ok(mut form) = Multipart::from_request(req, services).await else {
        return Sent::Unusable(PageError::new(
            StatusCode::BAD_REQUEST,
            "Please check the form",
            "The upload did not come from the upload form. Choose the file with the form on this page and press Upload.",
        ));
    };
    let broken = |over: &AtomicBool| {
        if over.load(Ordering::Relaxed) {
            Sent::Unusable(too_large(services))
        } else {
            Sent::Unusable(PageError::new(
                StatusCode::BAD_REQUEST,
                "Please check the form",
                "The upload was cut off before all of it arrived. Choose the file and upload it again.",
            ))
        }
    };
    let mut token_ok = false;
    let mut mode = SheetMode::Replace;
    loop {
        let field = match form.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(_) => return broken(&over),
        };
        let name = field.name().unwrap_or("").to_string();
        match name.as_str() {
            "csrf" => {
                let Ok(token) = field.text().await else {
                    return broken(&over);
                };
                if csrf::check(services, s, Some(&token)).is_err() {
                    return Sent::Forged;
                }
                token_ok = true;
            }
            "mode" => {
                let Ok(text) = field.text().await else {
                    return broken(&over);
                };
                mode = match SheetMode::parse(text.trim()) {
                    Some(m) => m,
                    None => {
                        return Sent::Unusable(PageError::new(
                            StatusCode::UNPROCESSABLE_ENTITY,
                            "Please check the form",
                            "Choose whether the sheet is the whole class list or more rows, then upload it again.",
                        ))
                    }
                };
            }
            "file" => {
                if !token_ok {
                    return Sent::Forged;
                }
                let name = field.file_name().map(str::to_string);
                let Ok(bytes) = field.bytes().await else {
                    return broken(&over);
                };
                return Sent::File(name, bytes.to_vec(), mode);
            }
            // Anything else (a submit button's name) is skipped unread.
            _ => {}
        }
    }
    if !token_ok {
        return Sent::Forged;
    }
    Sent::Unusable(PageError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "Please check the form",
        "No file was attached. Choose the filled-in score sheet (.xlsx or .csv), then press Upload.",
    ))
}

async fn upload(
    State(services): State<Services>,
    Signed(s): Signed,
    request_id: Option<Extension<RequestId>>,
    p: TermPath,
    req: Request,
) -> Response {
    let (filename, bytes, mode) = match read_form(&services, &s, req).await {
        Sent::File(name, bytes, mode) => (name, bytes, mode),
        Sent::Forged => return csrf::refused().into_response(),
        Sent::Unusable(e) => return shown_with(&services, &s, p, e).await,
    };
    let term = match term_of(p) {
        Ok(t) => t,
        Err(e) => return e.into_response(),
    };
    // A browser sends an empty, nameless file when none was chosen.
    if bytes.is_empty() && filename.as_deref().is_none_or(str::is_empty) {
        let e = PageError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Please check the form",
            "No file was chosen. Choose the filled-in score sheet (.xlsx or .csv), then press Upload.",
        );
        return refused_on_course_page(&services, &s, &term, e).await;
    }
    let upload = Upload {
        term: term.clone(),
        filename: filename.filter(|n| !n.is_empty()),
        bytes,
        mode,
    };
    let rid = request_id.as_ref().map(|Extension(r)| r.0.as_str());
    match services.upload_sheet(&s.who, upload, rid).await {
        Ok((sheet, true)) => Redirect::to(&format!("/sheets/{}", sheet.id)).into_response(),
        Ok((sheet, false)) => {
            Redirect::to(&format!("/sheets/{}?again=1", sheet.id)).into_response()
        }
        Err(e) => refused_on_course_page(&services, &s, &term, PageError::from(e)).await,
    }
}

/// An unusable form shown on its course page (or as a page of its own if the address names
/// no course).
async fn shown_with(services: &Services, s: &PageSession, p: TermPath, e: PageError) -> Response {
    match term_of(p) {
        Ok(term) => refused_on_course_page(services, s, &term, e).await,
        Err(_) => e.into_response(),
    }
}

struct ErrorRow {
    row: usize,
    matric: String,
    reason: String,
}

#[derive(Template)]
#[template(path = "sheet.html")]
struct SheetPage {
    layout: Layout,
    id: i64,
    course_href: String,
    course: String,
    term: String,
    file: String,
    uploaded: String,
    by: String,
    status: &'static str,
    /// Still waiting for a worker: the page refreshes itself.
    waiting: bool,
    /// The whole file was rejected, or could not be processed: why.
    failure: Option<String>,
    superseded_by: Option<i64>,
    /// Held until the lecturer confirms its removals: why.
    held: Option<String>,
    /// Whose scores a held sheet would remove (the first 100).
    removed: Vec<String>,
    /// What it did (or would do) to the course's scores.
    changes: Option<SheetChanges>,
    mode_add_rows: bool,
    /// The rows were judged: show the counts.
    counted: bool,
    total: u32,
    accepted: u32,
    rejected: u32,
    errors: Vec<ErrorRow>,
    errors_total: usize,
    first_shown: usize,
    last_shown: usize,
    prev_href: Option<String>,
    next_href: Option<String>,
    again: bool,
}

#[derive(Deserialize, Default)]
struct SheetQuery {
    errors_offset: Option<String>,
    again: Option<String>,
}

fn status_words(status: SheetStatus) -> &'static str {
    match status {
        SheetStatus::Queued => "waiting to be processed",
        SheetStatus::Processed => "processed",
        SheetStatus::Held => "held: it waits for a confirmation or an approval (see below)",
        SheetStatus::Rejected => "rejected",
        SheetStatus::Superseded => "replaced by a newer sheet",
        SheetStatus::Failed => "could not be processed",
    }
}

fn bad_address(what: &str) -> PageError {
    PageError::new(
        StatusCode::NOT_FOUND,
        "No such score sheet",
        format!("{what} Open the sheet from its course page, under \"Sheets uploaded\"."),
    )
}

type SheetPath = Result<Path<String>, axum::extract::rejection::PathRejection>;

/// The sheet id in the address, or the page that says it names none.
fn sheet_id(p: SheetPath) -> Result<i64, PageError> {
    p.ok()
        .and_then(|Path(raw)| raw.trim().parse::<i64>().ok())
        .filter(|n| *n > 0)
        .ok_or_else(|| bad_address("This address does not name a score sheet."))
}

async fn sheet(
    State(services): State<Services>,
    Signed(s): Signed,
    p: SheetPath,
    q: Result<Query<SheetQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let id = match sheet_id(p) {
        Ok(id) => id,
        Err(e) => return e.into_response(),
    };
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let offset = match q.errors_offset.as_deref().map(str::trim) {
        None | Some("") => 0,
        Some(v) => match v.parse::<usize>() {
            Ok(n) => n,
            Err(_) => {
                return PageError::new(
                    StatusCode::BAD_REQUEST,
                    "Please check the address",
                    format!("errors_offset must be a whole number of rows, not '{v}'. Use the links under the table of rejected rows."),
                )
                .into_response()
            }
        },
    };
    let report = match services.sheet_report(&s.who, id).await {
        Ok(r) => r,
        Err(e) => return PageError::from(e).into_response(),
    };
    let sh = report.sheet;
    let total = report.row_errors.len();
    let base = format!("/sheets/{id}");
    let errors: Vec<ErrorRow> = report
        .row_errors
        .into_iter()
        .skip(offset)
        .take(ERRORS_PAGE)
        .map(|e| {
            // The row number has a column of its own.
            let prefix = format!("row {}: ", e.row);
            let reason = e.message.strip_prefix(&prefix).unwrap_or(&e.message);
            ErrorRow {
                row: e.row,
                reason: sentence(reason),
                matric: e
                    .matric
                    .filter(|m| !m.trim().is_empty())
                    .unwrap_or_else(|| "(none)".into()),
            }
        })
        .collect();
    let end = offset.saturating_add(errors.len());
    let term: &CourseTerm = &sh.term;
    let page = SheetPage {
        layout: Layout::signed(&s, format!("Score sheet {id}")),
        id,
        course_href: course_href(term),
        course: term.course_code.to_string(),
        term: term_heading(term),
        file: sh.filename.unwrap_or_else(|| "(no name)".into()),
        uploaded: utc(sh.uploaded_at_ms),
        by: sh.uploaded_by,
        status: status_words(sh.status),
        waiting: sh.status == SheetStatus::Queued,
        failure: matches!(sh.status, SheetStatus::Rejected | SheetStatus::Failed)
            .then(|| sentence(sh.message.as_deref().unwrap_or("no reason was recorded"))),
        superseded_by: sh.superseded_by,
        held: (sh.status == SheetStatus::Held)
            .then(|| sentence(sh.message.as_deref().unwrap_or("it would remove scores"))),
        removed: sh
            .changes
            .as_ref()
            .filter(|_| sh.status == SheetStatus::Held)
            .map(|c| c.removed_matrics.clone())
            .unwrap_or_default(),
        changes: sh.changes,
        mode_add_rows: sh.mode == SheetMode::AddRows,
        counted: matches!(
            sh.status,
            SheetStatus::Processed | SheetStatus::Superseded | SheetStatus::Held
        ),
        total: sh.rows_total,
        accepted: sh.rows_accepted,
        rejected: sh.rows_rejected,
        errors_total: total,
        first_shown: offset + 1,
        last_shown: end,
        prev_href: (offset > 0 && total > 0).then(|| {
            format!(
                "{base}?errors_offset={}",
                offset
                    .saturating_sub(ERRORS_PAGE)
                    .min((total - 1) / ERRORS_PAGE * ERRORS_PAGE)
            )
        }),
        next_href: (end < total).then(|| format!("{base}?errors_offset={end}")),
        errors,
        again: q.again.is_some(),
    };
    render(StatusCode::OK, &page)
}

#[derive(Deserialize)]
struct ConfirmForm {
    csrf: Option<String>,
}

/// "Remove their scores and apply this sheet": the held sheet is queued again, and the
/// browser goes back to its page, which refreshes until it is applied.
async fn confirm(
    State(services): State<Services>,
    Signed(s): Signed,
    request_id: Option<Extension<RequestId>>,
    p: SheetPath,
    body: Result<axum::extract::Form<ConfirmForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Ok(axum::extract::Form(f)) = body else {
        return csrf::refused().into_response();
    };
    if let Err(e) = csrf::check(&services, &s, f.csrf.as_deref()) {
        return e.into_response();
    }
    let id = match sheet_id(p) {
        Ok(id) => id,
        Err(e) => return e.into_response(),
    };
    let rid = request_id.as_ref().map(|Extension(r)| r.0.as_str());
    match services.confirm_sheet(&s.who, id, rid).await {
        Ok(_) => Redirect::to(&format!("/sheets/{id}")).into_response(),
        Err(e) => PageError::from(e).into_response(),
    }
}
