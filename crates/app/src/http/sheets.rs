//! Score sheets (buffer mode): `POST /api/v1/score-sheets` takes a lecturer's CSV or XLSX
//! file — as the raw body with `course`, `session`, `semester` in the query, or as
//! multipart/form-data fields `course`, `session`, `semester`, `file` — and answers
//! `202 Accepted` with a status URL; `mode=add_rows` (query or form field) adds the sheet's
//! rows to the scores already there instead of replacing the list. `GET
//! /api/v1/score-sheets/{id}` reports its progress, counts, the changes it made (or, while
//! `held`, would make) and row errors, a page at a time (`?errors_offset=&errors_limit=`, at
//! most `MAX_ERRORS_PAGE`), with their total, so no answer grows with the sheet; `POST
//! /api/v1/score-sheets/{id}/confirm` confirms a held sheet's removals.
//!
//! This module must never parse rows: the request only records the intent (the service keeps
//! the bytes and queues the job); a worker does the rest.

use super::error::{body_problem, ApiError, ApiResult, FieldError};
use super::extract::{bearer, course_term, term_path, ApiPath, Auth, QueryParams, RequestId};
use super::RouteTable;
use crate::config::Limits;
use crate::services::sheets::Upload;
use crate::services::{Principal, Services};
use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use eportal_core::sheet::RowError;
use eportal_core::Role;
use eportal_ports::{SheetChanges, SheetMode, SheetReport};
use serde::Serialize;

/// Row errors listed in one status answer when the client does not ask for a page size.
const DEFAULT_ERRORS_PAGE: u32 = 100;
/// Most row errors listed in one status answer.
const MAX_ERRORS_PAGE: u32 = 500;

/// Room for multipart boundaries and the text fields around the file.
pub(super) const MULTIPART_OVERHEAD: usize = 64 * 1024;

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// Content types a raw upload may declare; the service then checks the bytes themselves.
const RAW_TYPES: [&str; 6] = [
    "text/csv",
    "application/csv",
    "text/plain",
    XLSX,
    "application/vnd.ms-excel",
    "application/octet-stream",
];

pub(super) fn routes(t: RouteTable, limits: &Limits) -> RouteTable {
    t.route_limited(
        Method::POST,
        "/api/v1/score-sheets",
        upload,
        Some(limits.max_upload_bytes + MULTIPART_OVERHEAD),
    )
    .gate_body(Method::POST, "/api/v1/score-sheets", upload_gate)
    .route(Method::GET, "/api/v1/score-sheets/{id}", status)
    .route(Method::POST, "/api/v1/score-sheets/{id}/confirm", confirm)
}

/// The sheet mode named in a form field or the query: `replace` (the default) or `add_rows`.
fn sheet_mode(given: Option<&str>) -> ApiResult<SheetMode> {
    match given.map(str::trim).filter(|m| !m.is_empty()) {
        None => Ok(SheetMode::Replace),
        Some(m) => SheetMode::parse(m).ok_or_else(|| {
            ApiError::invalid_params(vec![FieldError::new(
                "mode",
                format!("'{m}' is not a sheet mode: use 'replace' (the sheet is the whole class list) or 'add_rows' (add its rows to the scores already uploaded)"),
            )])
        }),
    }
}

/// The id in a score-sheet path.
fn sheet_id(raw: &str, errors: &mut Vec<FieldError>) -> Option<i64> {
    let id: Option<i64> = raw.trim().parse().ok().filter(|n| *n > 0);
    if id.is_none() {
        errors.push(FieldError::new(
            "id",
            format!("'{raw}' is not a score-sheet id (a positive whole number)"),
        ));
    }
    id
}

async fn confirm(
    State(s): State<Services>,
    Auth(who): Auth,
    Extension(request_id): Extension<RequestId>,
    ApiPath(raw): ApiPath<String>,
) -> ApiResult<Response> {
    let mut errors = Vec::new();
    let Some(id) = sheet_id(&raw, &mut errors) else {
        return Err(ApiError::invalid_params(errors));
    };
    let sheet = s.confirm_sheet(&who, id, Some(&request_id.0)).await?;
    let url = status_url(sheet.id);
    Ok((
        StatusCode::ACCEPTED,
        Json(Accepted {
            id: sheet.id,
            status: sheet.status.as_str(),
            status_url: url,
            created: false,
        }),
    )
        .into_response())
}

/// Only staff upload score sheets: anyone else is refused on the headers, before a byte of
/// the file is read. Which course a person may upload for is the service's rule, checked
/// once the file is in.
fn may_upload(who: &Principal) -> ApiResult<()> {
    if who.roles.iter().any(|r| *r != Role::Student) {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::FORBIDDEN,
        "forbidden",
        "only a course's lecturer may upload its score sheet; this account cannot upload",
    ))
}

/// The upload route's gate, run before its body is read (see `http::body`).
fn upload_gate(parts: &Parts, s: &Services) -> ApiResult<()> {
    let who = match parts.extensions.get::<Principal>() {
        Some(p) => p.clone(),
        None => bearer(&parts.headers)
            .and_then(|t| s.auth.verify(t))
            .ok_or_else(|| {
                ApiError::unauthorized(
                    "sign in first: send the token from POST /api/v1/auth/login as 'Authorization: Bearer <token>'",
                )
            })?,
    };
    may_upload(&who)
}

fn status_url(id: i64) -> String {
    format!("/api/v1/score-sheets/{id}")
}

#[derive(Serialize)]
struct Accepted {
    id: i64,
    status: &'static str,
    status_url: String,
    /// False when the same file was uploaded before (this is that sheet).
    created: bool,
}

/// The media type of a request without its parameters (`text/csv; charset=utf-8`).
pub(super) fn media_type(req: &Request) -> Option<String> {
    let v = req.headers().get(header::CONTENT_TYPE)?.to_str().ok()?;
    Some(
        v.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase(),
    )
}

/// The fields of a multipart upload (a sheet's, or an amendment's with its `reason`).
#[derive(Default)]
pub(super) struct Form {
    pub course: Option<String>,
    pub session: Option<String>,
    pub semester: Option<String>,
    pub mode: Option<String>,
    pub reason: Option<String>,
    pub file: Option<(Option<String>, Bytes)>,
}

fn multipart_problem(e: axum::extract::multipart::MultipartError, limit: usize) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too-large",
            format!(
                "the upload is larger than the {} accepted for a score sheet",
                eportal_core::sheet::Size(limit as u64)
            ),
        )
    } else {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad-multipart",
            format!("the multipart form could not be read: {}", e.body_text()),
        )
    }
}

pub(super) async fn read_form(mut mp: Multipart, limit: usize) -> ApiResult<Form> {
    let mut form = Form::default();
    while let Some(field) = mp
        .next_field()
        .await
        .map_err(|e| multipart_problem(e, limit))?
    {
        let name = field.name().unwrap_or("").to_string();
        match name.as_str() {
            "file" => {
                let filename = field.file_name().map(str::to_string);
                let bytes = field
                    .bytes()
                    .await
                    .map_err(|e| multipart_problem(e, limit))?;
                form.file = Some((filename, bytes));
            }
            "course" | "session" | "semester" | "mode" | "reason" => {
                let text = field
                    .text()
                    .await
                    .map_err(|e| multipart_problem(e, limit))?;
                let slot = match name.as_str() {
                    "course" => &mut form.course,
                    "session" => &mut form.session,
                    "mode" => &mut form.mode,
                    "reason" => &mut form.reason,
                    _ => &mut form.semester,
                };
                *slot = Some(text);
            }
            // Unknown fields (a browser's submit button) are ignored.
            _ => {}
        }
    }
    Ok(form)
}

async fn upload(
    State(s): State<Services>,
    Auth(who): Auth,
    Extension(request_id): Extension<RequestId>,
    q: QueryParams,
    req: Request,
) -> ApiResult<Response> {
    // Before the body: a student's upload is refused without reading the file.
    may_upload(&who)?;
    let limit = s.config.limits.max_upload_bytes;
    let media = media_type(&req);
    let (term, filename, bytes, mode) = match media.as_deref() {
        Some("multipart/form-data") => {
            let mp = Multipart::from_request(req, &s).await.map_err(|e| {
                ApiError::new(StatusCode::BAD_REQUEST, "bad-multipart", e.body_text())
            })?;
            let form = read_form(mp, limit).await?;
            let pick = |field: &Option<String>, name: &str| {
                field.as_deref().or_else(|| q.get(name)).map(str::to_string)
            };
            let term = course_term(
                pick(&form.course, "course").as_deref(),
                pick(&form.session, "session").as_deref(),
                pick(&form.semester, "semester").as_deref(),
            )?;
            let Some((filename, bytes)) = form.file else {
                return Err(ApiError::invalid_params(vec![FieldError::new(
                    "file",
                    "is required: attach the score sheet (.xlsx or .csv) as the form field 'file'",
                )]));
            };
            (term, filename, bytes, sheet_mode(pick(&form.mode, "mode").as_deref())?)
        }
        Some(m) if RAW_TYPES.contains(&m) => {
            let term = course_term(q.get("course"), q.get("session"), q.get("semester"))?;
            let bytes = Bytes::from_request(req, &s)
                .await
                .map_err(|e| body_problem(&e, Some(limit)))?;
            let mode = sheet_mode(q.get("mode"))?;
            (term, q.get("filename").map(str::to_string), bytes, mode)
        }
        other => {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                format!(
                    "a score sheet is sent as multipart/form-data or as the raw file with Content-Type text/csv, {XLSX} or application/octet-stream (got {})",
                    other.unwrap_or("no Content-Type")
                ),
            ))
        }
    };
    let upload = Upload {
        term,
        filename,
        bytes: bytes.to_vec(),
        mode,
    };
    let (sheet, created) = s.upload_sheet(&who, upload, Some(&request_id.0)).await?;
    let url = status_url(sheet.id);
    let mut res = (
        StatusCode::ACCEPTED,
        Json(Accepted {
            id: sheet.id,
            status: sheet.status.as_str(),
            status_url: url.clone(),
            created,
        }),
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&url) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    Ok(res)
}

#[derive(Serialize)]
struct SheetView {
    id: i64,
    status: &'static str,
    course: String,
    session: String,
    semester: String,
    filename: Option<String>,
    size_bytes: u64,
    sha256: String,
    uploaded_by: String,
    uploaded_at_ms: i64,
    processed_at_ms: Option<i64>,
    rows_total: u32,
    rows_accepted: u32,
    rows_rejected: u32,
    /// Why the whole sheet was rejected or failed.
    message: Option<String>,
    superseded_by: Option<i64>,
    /// `replace` (the whole class list) or `add_rows`.
    mode: &'static str,
    /// What the sheet did to the course's scores (while `held`: what it would do).
    changes: Option<SheetChanges>,
    /// This page of the row errors, in row order.
    row_errors: Vec<RowError>,
    /// How many row errors the sheet has in all.
    row_errors_total: usize,
    /// Where this page starts among them.
    row_errors_offset: usize,
    /// The next page, while there is one.
    row_errors_next: Option<String>,
    status_url: String,
    course_result_url: String,
}

impl SheetView {
    /// The view of a report, listing `limit` row errors from `offset`.
    fn page(r: SheetReport, offset: usize, limit: usize) -> Self {
        let s = r.sheet;
        let total = r.row_errors.len();
        let row_errors: Vec<RowError> = r.row_errors.into_iter().skip(offset).take(limit).collect();
        let end = offset.saturating_add(row_errors.len());
        let row_errors_next = (end < total).then(|| {
            format!(
                "{}?errors_offset={end}&errors_limit={limit}",
                status_url(s.id)
            )
        });
        SheetView {
            id: s.id,
            status: s.status.as_str(),
            course: s.term.course_code.to_string(),
            session: s.term.session.to_string(),
            semester: s.term.semester.to_string(),
            course_result_url: format!("/api/v1/course-results/{}", term_path(&s.term)),
            filename: s.filename,
            size_bytes: s.size_bytes,
            sha256: s.sha256,
            uploaded_by: s.uploaded_by,
            uploaded_at_ms: s.uploaded_at_ms,
            processed_at_ms: s.processed_at_ms,
            rows_total: s.rows_total,
            rows_accepted: s.rows_accepted,
            rows_rejected: s.rows_rejected,
            message: s.message,
            superseded_by: s.superseded_by,
            mode: s.mode.as_str(),
            changes: s.changes,
            row_errors,
            row_errors_total: total,
            row_errors_offset: offset,
            row_errors_next,
            status_url: status_url(s.id),
        }
    }
}

async fn status(
    State(s): State<Services>,
    Auth(who): Auth,
    ApiPath(raw): ApiPath<String>,
    q: QueryParams,
) -> ApiResult<Json<SheetView>> {
    let mut errors = Vec::new();
    let id = sheet_id(&raw, &mut errors);
    let offset = q.number("errors_offset", 0, 0..=u32::MAX, &mut errors);
    let limit = q.number(
        "errors_limit",
        DEFAULT_ERRORS_PAGE,
        1..=MAX_ERRORS_PAGE,
        &mut errors,
    );
    let Some(id) = id.filter(|_| errors.is_empty()) else {
        return Err(ApiError::invalid_params(errors));
    };
    let report = s.sheet_report(&who, id).await?;
    Ok(Json(SheetView::page(
        report,
        offset as usize,
        limit as usize,
    )))
}
