//! The registry's views: `GET /api/v1/admin/sheets?status=&limit=&offset=` (every sheet and
//! its job) and `GET /api/v1/admin/dead-letters` (the jobs given up on, with reasons). Who
//! may see them is decided by [`crate::services::registry`], never here.

use super::error::{ApiError, ApiResult, FieldError};
use super::extract::{Auth, QueryParams};
use super::RouteTable;
use crate::services::registry::SheetsPage;
use crate::services::Services;
use axum::extract::State;
use axum::http::Method;
use axum::Json;
use eportal_ports::SheetStatus;

const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 500;

pub(super) fn routes(t: RouteTable) -> RouteTable {
    t.route(Method::GET, "/api/v1/admin/sheets", sheets).route(
        Method::GET,
        "/api/v1/admin/dead-letters",
        dead_letters,
    )
}

fn page(q: &QueryParams, errors: &mut Vec<FieldError>) -> (u32, u32) {
    (
        q.number("limit", DEFAULT_LIMIT, 1..=MAX_LIMIT, errors),
        q.number("offset", 0, 0..=u32::MAX, errors),
    )
}

async fn sheets(
    State(s): State<Services>,
    Auth(who): Auth,
    q: QueryParams,
) -> ApiResult<Json<SheetsPage>> {
    let mut errors = Vec::new();
    let status = q.get("status").and_then(|v| {
        let parsed = SheetStatus::parse(v);
        if parsed.is_none() {
            errors.push(FieldError::new(
                "status",
                format!("'{v}' should be one of queued, processed, rejected, superseded, failed"),
            ));
        }
        parsed
    });
    let (limit, offset) = page(&q, &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::invalid_params(errors));
    }
    Ok(Json(s.registry_sheets(&who, status, limit, offset).await?))
}

async fn dead_letters(
    State(s): State<Services>,
    Auth(who): Auth,
    q: QueryParams,
) -> ApiResult<Json<SheetsPage>> {
    let mut errors = Vec::new();
    let (limit, offset) = page(&q, &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::invalid_params(errors));
    }
    Ok(Json(s.dead_letters(&who, limit, offset).await?))
}
