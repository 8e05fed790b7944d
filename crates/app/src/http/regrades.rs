//! Grading policy changes and their regrades:
//! - `POST /api/v1/admin/policies` takes `{"scope": "cohort:2025/2026", "policy": {…}}`
//!   (scope `default`, `cohort:SESSION` or `results:SESSION`; the policy as in
//!   docs/import.md) and answers `202 Accepted` with the regrade that switches to it, or
//!   with `"dry_run": true` answers `200` with what the change would do, changing nothing;
//! - `GET /api/v1/admin/regrades` lists the latest regrades, newest first;
//! - `GET /api/v1/admin/regrades/{id}` shows one with its progress.
//!
//! Who may change or read is the services' rule; this module only translates.

use super::courses::optional_json;
use super::error::{ApiError, ApiResult, FieldError};
use super::extract::{ApiPath, Auth};
use super::RouteTable;
use crate::services::regrade::RegradeView;
use crate::services::Services;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use eportal_core::{GradingPolicy, PolicyScope};
use serde::Deserialize;

pub(super) fn routes(t: RouteTable) -> RouteTable {
    t.route(Method::POST, "/api/v1/admin/policies", change)
        .route(Method::GET, "/api/v1/admin/regrades", list)
        .route(Method::GET, "/api/v1/admin/regrades/{id}", one)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyChange {
    #[serde(default)]
    scope: Option<String>,
    policy: GradingPolicy,
    #[serde(default)]
    dry_run: bool,
}

const HINT: &str = "send {\"scope\": \"default\" | \"cohort:2025/2026\" | \"results:2025/2026\", \"policy\": {…}, \"dry_run\": false}";

async fn change(
    State(s): State<Services>,
    Auth(who): Auth,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> ApiResult<Response> {
    Services::may_change_policy(&who)?;
    let change = optional_json::<PolicyChange>(body, HINT)?
        .ok_or_else(|| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid-body", HINT))?;
    let scope = match change.scope.as_deref() {
        None => PolicyScope::Default,
        Some(text) => PolicyScope::parse(text)
            .map_err(|e| ApiError::invalid_params(vec![FieldError::new("scope", e)]))?,
    };
    if change.dry_run {
        let report = s.policy_dry_run(&who, scope, change.policy).await?;
        return Ok(Json(report).into_response());
    }
    let r = s.change_policy(&who, scope, change.policy).await?;
    Ok((StatusCode::ACCEPTED, Json(RegradeView::from(r))).into_response())
}

async fn list(State(s): State<Services>, Auth(who): Auth) -> ApiResult<Json<Vec<RegradeView>>> {
    Ok(Json(s.regrades_for(&who, 20).await?))
}

async fn one(
    State(s): State<Services>,
    Auth(who): Auth,
    ApiPath(raw): ApiPath<String>,
) -> ApiResult<Json<RegradeView>> {
    let id = raw
        .parse::<i64>()
        .ok()
        .filter(|&id| id > 0)
        .ok_or_else(|| {
            ApiError::invalid_params(vec![FieldError::new(
                "id",
                format!("'{raw}' is not a regrade id (a whole number from 1)"),
            )])
        })?;
    Ok(Json(s.regrade_for(&who, id).await?))
}
