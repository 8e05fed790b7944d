//! CSRF tokens of the pages' forms. A signed-in form carries an HMAC of the session's token
//! under a server key, so it is worthless to any other session and cannot be made without
//! the key. The sign-in form, before any session exists, is bound the same way to a random
//! value in a short-lived cookie of its own (`eportal_login`).
//!
//! Every POST handler of a page checks its token before it does anything else; this module
//! must never accept a missing or empty token.

use super::errors::PageError;
use super::session::PageSession;
use crate::services::Services;
use axum::http::StatusCode;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The name of the cookie that binds the sign-in form to its browser.
pub const LOGIN_COOKIE: &str = "eportal_login";

fn mac(services: &Services, purpose: &str, value: &str) -> Hmac<Sha256> {
    let mut m = Hmac::<Sha256>::new_from_slice(&services.auth.derive_key("csrf"))
        .expect("HMAC takes keys of any length");
    m.update(purpose.as_bytes());
    m.update(b"|");
    m.update(value.as_bytes());
    m
}

/// The CSRF token of the forms of the session whose bearer token is `session_token`.
pub fn token_for(services: &Services, session_token: &str) -> String {
    B64.encode(
        mac(services, "session", session_token)
            .finalize()
            .into_bytes(),
    )
}

/// The CSRF token of a sign-in form whose browser holds `nonce` in [`LOGIN_COOKIE`].
pub fn login_token(services: &Services, nonce: &str) -> String {
    B64.encode(mac(services, "login", nonce).finalize().into_bytes())
}

/// A fresh random value for [`LOGIN_COOKIE`].
pub fn new_nonce() -> String {
    use rand::RngCore;
    let mut b = [0u8; 18];
    rand::thread_rng().fill_bytes(&mut b);
    B64.encode(b)
}

/// Whether `n` looks like a value [`new_nonce`] made (so a planted cookie of another shape
/// is replaced, not echoed).
pub fn well_formed_nonce(n: &str) -> bool {
    n.len() == 24 && B64.decode(n).is_ok_and(|b| b.len() == 18)
}

fn verify(m: Hmac<Sha256>, sent: &str) -> bool {
    match B64.decode(sent.trim()) {
        Ok(bytes) if !bytes.is_empty() => m.verify_slice(&bytes).is_ok(),
        _ => false,
    }
}

/// The refusal of a form whose token is missing or wrong.
pub fn refused() -> PageError {
    PageError::new(
        StatusCode::FORBIDDEN,
        "This form has expired",
        "The form was not accepted because it did not come from this page in your current session (it may be old, or from another site). Go back, reload the page and send it again.",
    )
}

/// Checks a signed-in form's token (in constant time).
pub fn check(
    services: &Services,
    session: &PageSession,
    sent: Option<&str>,
) -> Result<(), PageError> {
    let ok = sent.is_some_and(|t| verify(mac(services, "session", &session.token), t));
    if ok {
        Ok(())
    } else {
        Err(refused())
    }
}

/// Checks a sign-in form's token against the browser's nonce.
pub fn check_login(services: &Services, nonce: Option<&str>, sent: Option<&str>) -> bool {
    match (nonce, sent) {
        (Some(n), Some(t)) if !n.is_empty() => verify(mac(services, "login", n), t),
        _ => false,
    }
}
