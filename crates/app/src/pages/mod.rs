//! The pages people use in a browser: server-rendered HTML (askama templates, compiled and
//! checked at build time, in `crates/app/templates/`) over the same services as the JSON API.
//! Signed-in people carry a cookie session ([`session`]); every form carries a CSRF token
//! ([`csrf`]); every answer carries the security headers ([`headers`]).
//!
//! A page handler only translates between a form or a page and a use case in
//! [`crate::services`]: it must never hold an academic, access or workflow rule of its own
//! (whose results may be read, who may change what) — those are the services' to decide.
//! No page needs JavaScript, and nothing is loaded from another site.

mod account;
mod assets;
mod courses;
pub mod csrf;
pub mod errors;
mod headers;
mod login;
pub mod problems;
mod results;
pub mod session;
mod sheets;
mod view;

use crate::services::{Principal, Services};
use axum::extract::DefaultBodyLimit;
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use serde::{Deserialize, Serialize};

pub use errors::{browser_not_found, browser_wrong_method};

/// Forms are a few short fields; anything larger is refused before it is read.
const MAX_FORM_BYTES: usize = 16 * 1024;

/// Settings of the browser pages (`[pages]` in eportal.toml, `EPORTAL_PAGES__*`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PagesConfig {
    /// A page session unused for this long ends (sliding: each visit renews it).
    pub session_idle_secs: u64,
    /// A page session ends this long after the sign-in, however busy it is.
    pub session_absolute_secs: u64,
    /// Mark the session cookie `Secure` on every answer, not only on requests that came
    /// over TLS (set this behind a TLS-terminating proxy that does not send
    /// `X-Forwarded-Proto`).
    pub secure_cookies: bool,
}

impl Default for PagesConfig {
    fn default() -> Self {
        PagesConfig {
            session_idle_secs: 30 * 60,
            session_absolute_secs: 8 * 60 * 60,
            secure_cookies: false,
        }
    }
}

/// The page each person starts from: the first of their pages in the header's menu (a
/// student's results, a lecturer's courses, a reviewer's queue, the registry), or the
/// password form while they must choose a password.
pub fn home_for(who: &Principal) -> &'static str {
    if who.password_change_required {
        session::FORCED_CHANGE_PAGE
    } else {
        view::links_for(who)
            .first()
            .map(|l| l.href)
            .unwrap_or("/account")
    }
}

/// `/`: the signed-in person's home page, or the sign-in page.
async fn root(who: Option<session::Signed>) -> Response {
    match who {
        Some(s) => Redirect::to(home_for(&s.0.who)).into_response(),
        None => Redirect::to("/login").into_response(),
    }
}

/// The pages, with their session and security-header layers; merged into the portal's
/// router next to the API.
pub fn routes(services: Services) -> Router<Services> {
    let t = Router::new().route("/", get(root));
    let t = login::routes(t);
    let t = account::routes(t);
    let t = results::routes(t);
    let t = courses::routes(t);
    t.layer(DefaultBodyLimit::max(MAX_FORM_BYTES))
        .layer(from_fn_with_state(services, session::layer))
        .merge(assets::routes())
        .layer(axum::middleware::from_fn(headers::layer))
}

#[cfg(test)]
mod tests {
    use crate::Config;

    #[test]
    fn page_sessions_of_no_length_are_refused_at_start() {
        assert!(Config::default().validate().is_ok());
        for idle in [true, false] {
            let mut c = Config::default();
            if idle {
                c.pages.session_idle_secs = 0;
            } else {
                c.pages.session_absolute_secs = 0;
            }
            let e = c.validate().unwrap_err().to_string();
            assert!(e.contains("EPORTAL_PAGES__SESSION_IDLE_SECS"), "{e}");
        }
    }
}
