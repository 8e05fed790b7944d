//! Amendments of published results:
//! - `POST /api/v1/course-results/{course}/{session}/{semester}/amendments` asks for one:
//!   JSON `{"reason": "…", "records": [{"matric": "…", "ca": "18", "exam": "45"}]}`, or
//!   multipart/form-data with the fields `reason` and `file` (a score sheet of the changed
//!   rows); `202 Accepted` with the amendment, whose scores are then checked by a worker;
//! - `GET …/amendments` lists a course result's amendments, newest first;
//! - `GET /api/v1/amendments` is the signed-in reviewer's list of amendments waiting for them;
//! - `GET /api/v1/amendments/{id}` shows one with what its sheet changes (or would change);
//! - `POST /api/v1/amendments/{id}/decision` takes `{"decision": "approve"}` or
//!   `{"decision": "reject", "reason": "…"}`.
//!
//! Who may ask and decide is the services' rule, the order of the chain the core's; this
//! module only translates.

use super::courses::optional_json;
use super::error::{body_problem, ApiError, ApiResult, FieldError};
use super::extract::{course_term, ApiPath, Auth, RequestId};
use super::sheets::{media_type, read_form, MULTIPART_OVERHEAD};
use super::RouteTable;
use crate::config::Limits;
use crate::services::amendments::{AmendmentDetail, NewScores, RecordLine};
use crate::services::Services;
use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use eportal_core::amendment::Decision;
use eportal_ports::Amendment;
use serde::{Deserialize, Serialize};

const OF_RESULT: &str = "/api/v1/course-results/{course}/{session}/{semester}/amendments";

pub(super) fn routes(t: RouteTable, limits: &Limits) -> RouteTable {
    t.route_limited(
        Method::POST,
        OF_RESULT,
        request,
        Some(limits.max_upload_bytes + MULTIPART_OVERHEAD),
    )
    .route(Method::GET, OF_RESULT, of_result)
    .route(Method::GET, "/api/v1/amendments", to_decide)
    .route(Method::GET, "/api/v1/amendments/{id}", detail)
    .route(Method::POST, "/api/v1/amendments/{id}/decision", decide)
}

fn url(id: i64) -> String {
    format!("/api/v1/amendments/{id}")
}

/// An amendment as the API shows it, with its own address.
#[derive(Serialize)]
struct AmendmentView {
    #[serde(flatten)]
    amendment: Amendment,
    url: String,
}

impl From<Amendment> for AmendmentView {
    fn from(a: Amendment) -> Self {
        AmendmentView {
            url: url(a.id),
            amendment: a,
        }
    }
}

#[derive(Deserialize)]
struct RecordsRequest {
    #[serde(default)]
    reason: String,
    #[serde(default)]
    records: Vec<RecordLine>,
}

async fn request(
    State(s): State<Services>,
    Auth(who): Auth,
    Extension(request_id): Extension<RequestId>,
    ApiPath((c, se, m)): ApiPath<(String, String, String)>,
    req: Request,
) -> ApiResult<Response> {
    let term = course_term(Some(&c), Some(&se), Some(&m))?;
    let limit = s.config.limits.max_upload_bytes;
    let (reason, scores) = match media_type(&req).as_deref() {
        Some("multipart/form-data") => {
            let mp = Multipart::from_request(req, &s).await.map_err(|e| {
                ApiError::new(StatusCode::BAD_REQUEST, "bad-multipart", e.body_text())
            })?;
            let form = read_form(mp, limit).await?;
            let Some((filename, bytes)) = form.file else {
                return Err(ApiError::invalid_params(vec![FieldError::new(
                    "file",
                    "is required: attach a score sheet (.xlsx or .csv) of the changed rows as the form field 'file', or send the records as JSON",
                )]));
            };
            let scores = NewScores::File {
                filename,
                bytes: bytes.to_vec(),
            };
            (form.reason.unwrap_or_default(), scores)
        }
        Some("application/json") => {
            let json_limit = s.config.limits.max_json_bytes;
            let body = Bytes::from_request(req, &s)
                .await
                .map_err(|e| body_problem(&e, Some(json_limit)))?;
            if body.len() > json_limit {
                return Err(ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "too-large",
                    format!(
                        "the JSON body is larger than the {} accepted; send a long change as a score sheet",
                        eportal_core::sheet::Size(json_limit as u64)
                    ),
                ));
            }
            let hint = "send {\"reason\": \"…\", \"records\": [{\"matric\": \"…\", \"ca\": \"18\", \"exam\": \"45\"}]}";
            let r = optional_json::<RecordsRequest>(Ok(body), hint)?.ok_or_else(|| {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid-body", hint)
            })?;
            (r.reason, NewScores::Records(r.records))
        }
        other => {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                format!(
                    "an amendment is sent as application/json (single records) or multipart/form-data (a score sheet) (got {})",
                    other.unwrap_or("no Content-Type")
                ),
            ))
        }
    };
    let a = s
        .request_amendment(&who, &term, &reason, scores, Some(&request_id.0))
        .await?;
    let location = HeaderValue::from_str(&url(a.id));
    let mut res = (StatusCode::ACCEPTED, Json(AmendmentView::from(a))).into_response();
    if let Ok(v) = location {
        res.headers_mut().insert(header::LOCATION, v);
    }
    Ok(res)
}

#[derive(Serialize)]
struct List {
    items: Vec<AmendmentView>,
}

async fn of_result(
    State(s): State<Services>,
    Auth(who): Auth,
    ApiPath((c, se, m)): ApiPath<(String, String, String)>,
) -> ApiResult<Json<List>> {
    let term = course_term(Some(&c), Some(&se), Some(&m))?;
    let items = s.amendments_of(&who, &term).await?;
    Ok(Json(List {
        items: items.into_iter().map(AmendmentView::from).collect(),
    }))
}

async fn to_decide(State(s): State<Services>, Auth(who): Auth) -> ApiResult<Json<List>> {
    let items = s.amendments_to_decide(&who).await?;
    Ok(Json(List {
        items: items.into_iter().map(AmendmentView::from).collect(),
    }))
}

/// The id in an amendment path.
fn amendment_id(raw: &str) -> ApiResult<i64> {
    raw.trim()
        .parse()
        .ok()
        .filter(|n: &i64| *n > 0)
        .ok_or_else(|| {
            ApiError::invalid_params(vec![FieldError::new(
                "id",
                format!("'{raw}' is not an amendment id (a positive whole number)"),
            )])
        })
}

async fn detail(
    State(s): State<Services>,
    Auth(who): Auth,
    ApiPath(raw): ApiPath<String>,
) -> ApiResult<Json<AmendmentDetail>> {
    Ok(Json(s.amendment_detail(&who, amendment_id(&raw)?).await?))
}

async fn decide(
    State(s): State<Services>,
    Auth(who): Auth,
    Extension(request_id): Extension<RequestId>,
    ApiPath(raw): ApiPath<String>,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> ApiResult<Json<AmendmentView>> {
    let id = amendment_id(&raw)?;
    let hint = "send {\"decision\": \"approve\"} or {\"decision\": \"reject\", \"reason\": \"…\"}";
    let decision = optional_json::<Decision>(body, hint)?
        .ok_or_else(|| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid-body", hint))?;
    let a = s
        .decide_amendment(&who, id, decision, Some(&request_id.0))
        .await?;
    Ok(Json(AmendmentView::from(a)))
}
