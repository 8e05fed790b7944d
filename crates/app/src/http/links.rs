//! A results link over the API: `GET /api/v1/r/{token}` answers the link's student's results
//! as JSON, with no sign-in. The token is not a bearer token and opens nothing else; whether
//! it still stands is the services' to decide.

use super::error::ApiResult;
use super::extract::ApiPath;
use super::RouteTable;
use crate::services::results::StudentResults;
use crate::services::{ServiceError, Services};
use axum::extract::State;
use axum::http::{header, HeaderValue, Method};
use axum::response::{IntoResponse, Response};
use axum::Json;

pub(super) fn routes(t: RouteTable) -> RouteTable {
    t.route(Method::GET, "/api/v1/r/{token}", by_link)
}

async fn by_link(
    State(s): State<Services>,
    ApiPath(token): ApiPath<String>,
) -> ApiResult<Response> {
    let (results, stale): (StudentResults, bool) = s
        .results_by_link(&token)
        .await
        .map_err(ServiceError::from)?;
    let mut res = Json(results).into_response();
    if stale {
        super::students::mark_stale(res.headers_mut());
    }
    // Personal data behind a secret in the address: kept by no cache and sent on to no one.
    let h = res.headers_mut();
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    Ok(res)
}
