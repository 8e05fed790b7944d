//! Cookie sessions of the pages. The cookie holds the signed bearer token the API would hand
//! out, together with when the page session began and when the cookie was last issued, all
//! sealed with an HMAC under a key derived from the token key:
//! `{first}~{issued}~{token}~{mac}` (unix seconds, then the token, then the seal).
//!
//! On every page request the layer checks the seal, the idle timeout (since `issued`) and the
//! absolute timeout (since `first`), then the token exactly as the API does — its signature
//! and expiry (`AuthService::verify`) and its session version (`Services::session_current`),
//! so signing out, a password change or a revocation ends page sessions too. A cookie older
//! than a quarter of the idle window is re-issued on the way out (sliding expiry).
//!
//! This module must never log a cookie or a token, and must never accept a cookie whose seal
//! does not verify.

use super::PagesConfig;
use crate::services::{Principal, Services};
use axum::extract::{FromRequestParts, OptionalFromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The name of the session cookie.
pub const COOKIE: &str = "eportal_session";

/// A signed-in page visitor: who they are, their bearer token and the CSRF token their
/// forms must carry. (No `Debug`: it holds a token, which must never reach a log.)
#[derive(Clone)]
pub struct PageSession {
    pub who: Principal,
    pub token: String,
    pub csrf: String,
    /// When this page session began (unix seconds); kept across renewals.
    pub first: u64,
}

/// Whether the request's session cookie was present but no longer stands (so the sign-in
/// page can say so, and the cookie is cleared).
#[derive(Debug, Clone, Copy)]
pub struct Ended;

pub fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn seal_mac(services: &Services) -> Hmac<Sha256> {
    Hmac::<Sha256>::new_from_slice(&services.auth.derive_key("page-session"))
        .expect("HMAC takes keys of any length")
}

/// The cookie value for `token`, begun at `first` and issued now.
pub fn seal(services: &Services, first: u64, token: &str) -> String {
    let body = format!("{first}~{}~{token}", now_secs());
    let mut m = seal_mac(services);
    m.update(body.as_bytes());
    format!("{body}~{}", B64.encode(m.finalize().into_bytes()))
}

/// `(first, issued, token)` of a cookie whose seal verifies.
fn unseal<'a>(services: &Services, value: &'a str) -> Option<(u64, u64, &'a str)> {
    let (body, mac) = value.rsplit_once('~')?;
    let mut m = seal_mac(services);
    m.update(body.as_bytes());
    m.verify_slice(&B64.decode(mac).ok()?).ok()?;
    let mut parts = body.splitn(3, '~');
    let first = parts.next()?.parse().ok()?;
    let issued = parts.next()?.parse().ok()?;
    Some((first, issued, parts.next()?))
}

/// The bearer token inside the request's session cookie, if its seal verifies (not yet
/// checked for expiry or sign-out: for telling clients apart, not for letting anyone in).
pub fn sealed_token<'a>(services: &Services, headers: &'a HeaderMap) -> Option<&'a str> {
    unseal(services, cookie(headers, COOKIE)?).map(|(_, _, token)| token)
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

/// Whether cookies set on this answer should be `Secure`: the request came over TLS (as the
/// proxy in front says), or configuration says to always.
pub fn secure(config: &PagesConfig, headers: &HeaderMap) -> bool {
    config.secure_cookies
        || headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"))
}

/// A `Set-Cookie` value; `max_age` 0 deletes the cookie.
pub fn set_cookie(name: &str, value: &str, max_age: u64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}={value}; Max-Age={max_age}; Path=/; HttpOnly; SameSite=Lax{secure}"
    ))
    .expect("cookie values are base64, digits and '~'")
}

/// What the request's cookie says, if it carries one.
enum Found {
    Standing(PageSession, /* renew */ bool),
    Ended,
}

async fn check(services: &Services, headers: &HeaderMap) -> Option<Found> {
    let value = cookie(headers, COOKIE)?;
    let cfg = &services.config.pages;
    let Some((first, issued, token)) = unseal(services, value) else {
        return Some(Found::Ended);
    };
    let now = now_secs();
    let idle = now.saturating_sub(issued);
    if idle >= cfg.session_idle_secs || now.saturating_sub(first) >= cfg.session_absolute_secs {
        return Some(Found::Ended);
    }
    // The same two checks the API's `Auth` extractor makes of a bearer token.
    let Some(who) = services.auth.verify(token) else {
        return Some(Found::Ended);
    };
    if !services.session_current(&who).await {
        return Some(Found::Ended);
    }
    let session = PageSession {
        csrf: super::csrf::token_for(services, token),
        token: token.to_string(),
        who,
        first,
    };
    Some(Found::Standing(session, idle >= cfg.session_idle_secs / 4))
}

/// The cookie that carries `session` from now on (a new issue time).
pub fn cookie_for(
    services: &Services,
    headers: &HeaderMap,
    first: u64,
    token: &str,
) -> HeaderValue {
    let cfg = &services.config.pages;
    // The browser may drop it at the absolute end; the seal enforces both ends anyway.
    let left = cfg
        .session_absolute_secs
        .saturating_sub(now_secs().saturating_sub(first));
    set_cookie(
        COOKIE,
        &seal(services, first, token),
        left,
        secure(cfg, headers),
    )
}

/// Where an account that must change its password is sent.
pub const FORCED_CHANGE_PAGE: &str = "/account/password";

/// The pages an account that must change its password may still open: the password form,
/// sign-out, sign-in and the stylesheet.
fn may_use_while_forced(path: &str) -> bool {
    matches!(path, FORCED_CHANGE_PAGE | "/logout" | "/login") || path.starts_with("/assets/")
}

/// Reads the session cookie of every page request, and renews or clears it on the answer
/// unless the handler set the cookie itself (sign-in, sign-out, new password).
pub async fn layer(State(services): State<Services>, mut req: Request, next: Next) -> Response {
    let found = check(&services, req.headers()).await;
    let headers = req.headers().clone();
    let mut renew = None;
    match found {
        Some(Found::Standing(s, stale)) => {
            if stale {
                renew = Some(cookie_for(&services, &headers, s.first, &s.token));
            }
            // The same rule as the API's: an account that must choose its own password
            // (imported, or reset by the registry) uses no other page until it has.
            if s.who.password_change_required && !may_use_while_forced(req.uri().path()) {
                return Redirect::to(FORCED_CHANGE_PAGE).into_response();
            }
            req.extensions_mut().insert(s);
        }
        Some(Found::Ended) => {
            req.extensions_mut().insert(Ended);
            renew = Some(set_cookie(
                COOKIE,
                "",
                0,
                secure(&services.config.pages, &headers),
            ));
        }
        None => {}
    }
    let mut res = next.run(req).await;
    if let Some(v) = renew {
        let set_by_handler = res
            .headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .any(|c| c.as_bytes().starts_with(format!("{COOKIE}=").as_bytes()));
        if !set_by_handler {
            res.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    res
}

/// A page that needs a signed-in person; anyone else is sent to the sign-in page, which
/// brings them back here afterwards.
#[derive(Clone)]
pub struct Signed(pub PageSession);

impl<S: Send + Sync> FromRequestParts<S> for Signed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Response> {
        match parts.extensions.get::<PageSession>() {
            Some(s) => Ok(Signed(s.clone())),
            None => {
                let here = parts
                    .uri
                    .path_and_query()
                    .map(|p| p.as_str())
                    .unwrap_or("/");
                // Say why, when a session was there and has ended (the cookie is cleared).
                let ended = if parts.extensions.get::<Ended>().is_some() {
                    "&ended=1"
                } else {
                    ""
                };
                Err(Redirect::to(&format!("/login?next={}{ended}", encode(here))).into_response())
            }
        }
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for Signed {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Option<Self>, Self::Rejection> {
        Ok(parts.extensions.get::<PageSession>().cloned().map(Signed))
    }
}

/// Percent-encodes everything but unreserved characters and '/'.
pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `next` if it is a path on this site (so the sign-in page cannot be made to send someone
/// to another site), else `None`.
pub fn local_path(next: &str) -> Option<&str> {
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        // Visible ASCII only: it goes into a `Location` header as it is.
        && next.bytes().all(|b| b.is_ascii_graphic() && b != b'\\');
    ok.then_some(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        assert_eq!(local_path("/results?x=1"), Some("/results?x=1"));
        for bad in [
            "https://evil.example/",
            "//evil.example",
            "/\\evil",
            "results",
            "/a\r\nb",
            "/r\u{e9}sum\u{e9}",
            "/a b",
        ] {
            assert_eq!(local_path(bad), None, "{bad}");
        }
    }

    #[test]
    fn cookies_are_read_from_every_cookie_header() {
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; eportal_session=x~y"),
        );
        assert_eq!(cookie(&h, COOKIE), Some("x~y"));
        assert_eq!(cookie(&h, "b"), None);
        assert_eq!(encode("/results?a=b c"), "/results%3Fa%3Db%20c");
    }
}
