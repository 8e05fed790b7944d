//! The security headers of every page and asset: a content security policy that allows
//! nothing inline and nothing from elsewhere, no framing, no MIME sniffing, no referrer to
//! other sites; and `Cache-Control: no-store` on pages (they show personal data) unless the
//! handler chose a caching policy itself (the stylesheet).

use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// Adds the headers to an answer (also used for the browser error pages of the fallback).
pub fn add(headers: &mut HeaderMap) {
    let set = |h: &mut HeaderMap, name: header::HeaderName, v: &'static str| {
        h.insert(name, HeaderValue::from_static(v));
    };
    set(headers, header::CONTENT_SECURITY_POLICY, CSP);
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(headers, header::REFERRER_POLICY, "same-origin");
    set(headers, header::X_FRAME_OPTIONS, "DENY");
    if !headers.contains_key(header::CACHE_CONTROL) {
        set(headers, header::CACHE_CONTROL, "no-store");
    }
}

pub async fn layer(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    add(res.headers_mut());
    res
}
