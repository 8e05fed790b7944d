//! A results link over the API: `GET /api/v1/r/{token}` answers the link's student's results
//! as JSON, with no sign-in. The token is not a bearer token and opens nothing else; whether
//! it still stands is the services' to decide.

use super::error::ApiResult;
use super::extract::ApiPath;
use super::RouteTable;
use crate::services::results_cache::ResultsDoc;
use crate::services::{ServiceError, Services};
use axum::extract::State;
use axum::http::{header, HeaderValue, Method};
use axum::response::Response;

pub(super) fn routes(t: RouteTable) -> RouteTable {
    t.route(Method::GET, "/api/v1/r/{token}", by_link)
}

async fn by_link(
    State(s): State<Services>,
    ApiPath(token): ApiPath<String>,
) -> ApiResult<Response> {
    let doc = s
        .results_document_by_link(&token)
        .await
        .map_err(ServiceError::from)?;
    Ok(link_response(doc))
}

/// The results a link opens: the cached JSON as it is, kept by no cache and sent on to no
/// one (personal data behind a secret in the address), marked if possibly stale.
pub(super) fn link_response(doc: ResultsDoc) -> Response {
    let stale = doc.stale;
    let mut res = super::students::json_response(doc);
    let h = res.headers_mut();
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if stale {
        super::students::mark_stale(h);
    }
    res
}
