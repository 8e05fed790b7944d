//! The stylesheet, embedded in the binary (campus networks may have no internet) and served
//! at an address that names its content hash, so browsers may keep it for a year and a new
//! build is fetched at once.

use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use sha2::{Digest, Sha256};
use std::sync::LazyLock;

const SITE_CSS: &str = include_str!("../../assets/site.css");

/// The first 16 hex digits of the stylesheet's SHA-256.
static HASH: LazyLock<String> =
    LazyLock::new(|| hex::encode(Sha256::digest(SITE_CSS.as_bytes()))[..16].to_string());

/// `/assets/site.{hash}.css`
static HREF: LazyLock<String> = LazyLock::new(|| format!("/assets/site.{}.css", *HASH));

/// The address the pages link the stylesheet from.
pub fn css_href() -> &'static str {
    &HREF
}

async fn css(headers: HeaderMap) -> Response {
    let etag = format!("\"{}\"", *HASH);
    let cached = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let common = [
        (
            header::CACHE_CONTROL,
            "public, max-age=31536000, immutable".to_string(),
        ),
        (header::ETAG, etag),
    ];
    if cached {
        return (StatusCode::NOT_MODIFIED, common).into_response();
    }
    (
        common,
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        SITE_CSS,
    )
        .into_response()
}

pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new().route(css_href(), get(css))
}
