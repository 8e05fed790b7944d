//! Students and their results: the registry's paged student list, and one student's
//! published results with GPA, CGPA and class of degree.
//!
//! Matric numbers contain '/', so clients send them percent-encoded (`SCI%2F2021%2F0001`);
//! the router matches the encoded segment and axum decodes it before it reaches the handler.
//! Who may read what is decided by the services, never here.

use super::error::{ApiError, ApiResult, FieldError};
use super::extract::{ApiPath, Auth, QueryParams};
use super::RouteTable;
use crate::services::people::StudentPage;
use crate::services::results::StudentResults;
use crate::services::Services;
use axum::extract::State;
use axum::http::Method;
use axum::Json;
use eportal_core::MatricNo;

/// Students per page when the client does not say, and the most it may ask for.
const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 500;

pub(super) fn routes(t: RouteTable) -> RouteTable {
    t.route(Method::GET, "/api/v1/students", list).route(
        Method::GET,
        "/api/v1/students/{matric_no}/results",
        results,
    )
}

async fn list(
    State(s): State<Services>,
    Auth(who): Auth,
    q: QueryParams,
) -> ApiResult<Json<StudentPage>> {
    let mut errors = Vec::new();
    let limit = q.number("limit", DEFAULT_LIMIT, 1..=MAX_LIMIT, &mut errors);
    let offset = q.number("offset", 0, 0..=u32::MAX, &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::invalid_params(errors));
    }
    Ok(Json(s.list_students(&who, limit, offset).await?))
}

async fn results(
    State(s): State<Services>,
    Auth(who): Auth,
    ApiPath(matric): ApiPath<String>,
) -> ApiResult<Json<StudentResults>> {
    let matric = MatricNo::parse(&matric)
        .map_err(|e| ApiError::invalid_params(vec![FieldError::new("matric_no", e.0)]))?;
    Ok(Json(s.student_results(&who, &matric).await?))
}
