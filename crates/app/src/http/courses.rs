//! Course results and their approval workflow:
//! `GET /api/v1/course-results/{course}/{session}/{semester}` shows a result's state and
//! every student's record; `POST …/submit|approve|return|publish` moves it on.
//!
//! Sessions are written `2024-2025` in paths ('/' would split the segment); courses as
//! `CSC201` or `CSC%20201`. Who may act when is the services' and the core's business: this
//! module only parses the address and the return reason, and never decides a transition.

use super::error::{body_problem, ApiError, ApiResult};
use super::extract::{course_term, term_path, ApiPath, Auth};
use super::RouteTable;
use crate::services::results::score_json;
use crate::services::Services;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::Json;
use eportal_core::model::{AmendedMark, CourseRecord, CourseTerm};
use eportal_core::workflow::Action;
use eportal_core::{MatricNo, Score};
use eportal_ports::store::CourseResultState;
use serde::{Deserialize, Serialize};

const BASE: &str = "/api/v1/course-results/{course}/{session}/{semester}";

pub(super) fn routes(t: RouteTable) -> RouteTable {
    t.route(Method::GET, BASE, detail)
        .route(
            Method::POST,
            "/api/v1/course-results/{course}/{session}/{semester}/submit",
            submit,
        )
        .route(
            Method::POST,
            "/api/v1/course-results/{course}/{session}/{semester}/approve",
            approve,
        )
        .route(
            Method::POST,
            "/api/v1/course-results/{course}/{session}/{semester}/return",
            return_,
        )
        .route(
            Method::POST,
            "/api/v1/course-results/{course}/{session}/{semester}/publish",
            publish,
        )
}

type TermPath = ApiPath<(String, String, String)>;

fn term(ApiPath((c, s, m)): TermPath) -> ApiResult<CourseTerm> {
    course_term(Some(&c), Some(&s), Some(&m))
}

#[derive(Serialize)]
struct CourseResultView {
    course: String,
    session: String,
    semester: String,
    state: &'static str,
    /// The reason given when the result was last returned.
    reason: Option<String>,
    updated_by: Option<String>,
    updated_at_ms: i64,
    url: String,
}

impl From<CourseResultState> for CourseResultView {
    fn from(s: CourseResultState) -> Self {
        CourseResultView {
            course: s.term.course_code.to_string(),
            session: s.term.session.to_string(),
            semester: s.term.semester.to_string(),
            state: s.state.as_str(),
            url: format!("/api/v1/course-results/{}", term_path(&s.term)),
            reason: s.reason,
            updated_by: s.updated_by,
            updated_at_ms: s.updated_at_ms,
        }
    }
}

/// One student's line of a course result; scores as exact decimal numbers (67.5).
#[derive(Serialize)]
struct RecordLine {
    matric_no: String,
    #[serde(serialize_with = "score_json")]
    ca: Score,
    #[serde(serialize_with = "score_json")]
    exam: Score,
    #[serde(serialize_with = "score_json")]
    total: Score,
    grade: String,
    points: u8,
    units: u8,
    version: u32,
    sheet_id: i64,
    /// Set when an amendment changed the score after publication.
    amended: Option<AmendedMark>,
}

impl From<CourseRecord> for RecordLine {
    fn from(r: CourseRecord) -> Self {
        RecordLine {
            matric_no: r.matric_no.to_string(),
            ca: r.ca,
            exam: r.exam,
            total: r.total,
            grade: r.grade,
            points: r.points,
            units: r.units,
            version: r.version,
            sheet_id: r.sheet_id,
            amended: r.amended,
        }
    }
}

#[derive(Serialize)]
struct Detail {
    #[serde(flatten)]
    result: CourseResultView,
    records: Vec<RecordLine>,
    /// Registered students with no score and no ABS; a submission must confirm them.
    unscored: Vec<String>,
}

async fn detail(
    State(s): State<Services>,
    Auth(who): Auth,
    p: TermPath,
) -> ApiResult<Json<Detail>> {
    let d = s.course_result_detail(&who, &term(p)?).await?;
    Ok(Json(Detail {
        result: d.state.into(),
        records: d.records.into_iter().map(RecordLine::from).collect(),
        unscored: d.unscored.iter().map(ToString::to_string).collect(),
    }))
}

async fn act(
    s: &Services,
    who: Auth,
    p: TermPath,
    action: Action,
) -> ApiResult<Json<CourseResultView>> {
    let state = s.course_action(&who.0, &term(p)?, action).await?;
    Ok(Json(state.into()))
}

#[derive(Deserialize)]
struct SubmitRequest {
    /// The registered students the lecturer confirms are to go without a score.
    #[serde(default)]
    confirm_unscored: Vec<String>,
}

/// A submission may carry `{"confirm_unscored": ["…", …]}`: a result whose registered
/// students include some with no score and no `ABS` is refused (409, naming them) until
/// every one of them is confirmed.
async fn submit(
    State(s): State<Services>,
    who: Auth,
    p: TermPath,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<CourseResultView>> {
    let request = optional_json::<SubmitRequest>(
        body,
        "send {\"confirm_unscored\": [\"…\"]} naming the students to submit without a score",
    )?;
    let listed = request.map(|r| r.confirm_unscored).unwrap_or_default();
    let mut confirmed = Vec::with_capacity(listed.len());
    for m in &listed {
        confirmed.push(MatricNo::parse(m).map_err(|e| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-body",
                format!("confirm_unscored: '{m}' is not a matric number ({e})"),
            )
        })?);
    }
    let state = s
        .course_action_confirmed(&who.0, &term(p)?, Action::Submit, &confirmed)
        .await?;
    Ok(Json(state.into()))
}

async fn approve(
    State(s): State<Services>,
    who: Auth,
    p: TermPath,
) -> ApiResult<Json<CourseResultView>> {
    act(&s, who, p, Action::Approve).await
}

async fn publish(
    State(s): State<Services>,
    who: Auth,
    p: TermPath,
) -> ApiResult<Json<CourseResultView>> {
    act(&s, who, p, Action::Publish).await
}

#[derive(Deserialize)]
struct ReturnRequest {
    #[serde(default)]
    reason: String,
}

/// A return needs `{"reason": "…"}`; an empty body or an empty reason reaches the workflow
/// as a missing reason (422), after the role check, so only a reviewer learns what is missing.
async fn return_(
    State(s): State<Services>,
    who: Auth,
    p: TermPath,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<CourseResultView>> {
    let reason = optional_json::<ReturnRequest>(
        body,
        "send {\"reason\": \"…\"} saying what the lecturer must fix",
    )?
    .map(|r| r.reason)
    .unwrap_or_default();
    act(&s, who, p, Action::Return { reason }).await
}

/// A workflow action's optional JSON body: `None` when it is empty; a body that is not
/// JSON is a 400, JSON of the wrong shape a 422 starting with `hint`.
pub(super) fn optional_json<T: serde::de::DeserializeOwned>(
    body: Result<Bytes, BytesRejection>,
    hint: &str,
) -> ApiResult<Option<T>> {
    let body = body.map_err(|e| body_problem(&e, None))?;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    match serde_json::from_slice::<T>(&body) {
        Ok(r) => Ok(Some(r)),
        Err(e) if e.is_syntax() || e.is_eof() => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed-json",
            format!("the request body is not valid JSON: {e}"),
        )),
        Err(e) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-body",
            format!("{hint}: {e}"),
        )),
    }
}
