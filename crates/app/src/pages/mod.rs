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
mod amendments;
mod assets;
mod courses;
pub mod csrf;
mod documents;
pub mod errors;
mod headers;
mod links;
mod login;
pub mod problems;
mod registry;
mod results;
mod review;
mod semester_rows;
pub mod session;
mod sheets;
mod view;
pub(crate) mod words;

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
    let t = links::routes(t);
    let t = documents::routes(t);
    let t = registry::routes(t, &services.config.limits);
    let t = review::routes(t);
    let t = courses::routes(t);
    let t = amendments::routes(t);
    t.layer(DefaultBodyLimit::max(MAX_FORM_BYTES))
        .layer(from_fn_with_state(services, session::layer))
        .merge(assets::routes())
        .layer(axum::middleware::from_fn(headers::layer))
}

/// Every (method, path) the pages answer, in axum's path syntax, assets included: the list
/// the access-control matrix (`tests/access_matrix.rs`) walks, row by row. A unit test below
/// fails when a page module routes an address this list does not name; the matrix fails when
/// a listed address is not served as its row expects.
pub const PAGE_ROUTES: &[(&str, &str)] = &[
    ("GET", "/"),
    ("GET", "/login"),
    ("POST", "/login"),
    ("POST", "/logout"),
    ("GET", "/account"),
    ("GET", "/account/password"),
    ("POST", "/account/password"),
    ("GET", "/results"),
    ("GET", "/r/{token}"),
    ("GET", "/students/{matric_no}/transcript.pdf"),
    (
        "GET",
        "/students/{matric_no}/results/{session}/{semester}/slip.pdf",
    ),
    ("GET", "/verify"),
    ("GET", "/verify/{code}"),
    ("POST", "/verify/{code}/revoke"),
    ("GET", "/courses"),
    ("GET", "/courses/{course}/{session}/{semester}"),
    ("GET", "/courses/{course}/{session}/{semester}/template.csv"),
    (
        "GET",
        "/courses/{course}/{session}/{semester}/template.xlsx",
    ),
    ("POST", "/courses/{course}/{session}/{semester}/sheets"),
    ("POST", "/courses/{course}/{session}/{semester}/submit"),
    ("GET", "/sheets/{id}"),
    ("POST", "/sheets/{id}/confirm"),
    ("POST", "/courses/{course}/{session}/{semester}/amendments"),
    ("GET", "/amendments"),
    ("GET", "/amendments/{id}"),
    ("POST", "/amendments/{id}/decision"),
    ("GET", "/review"),
    ("GET", "/review/{course}/{session}/{semester}"),
    ("POST", "/review/{course}/{session}/{semester}/approve"),
    ("POST", "/review/{course}/{session}/{semester}/return"),
    ("POST", "/review/{course}/{session}/{semester}/publish"),
    ("GET", "/registry"),
    ("GET", "/registry/imports"),
    ("POST", "/registry/imports"),
    ("GET", "/registry/users"),
    ("POST", "/registry/users/password"),
    ("GET", "/registry/sheets"),
    ("GET", "/registry/dead-letters"),
    ("GET", "/registry/students"),
    ("GET", "/favicon.ico"),
    ("GET", "/assets/{file}"),
];

#[cfg(test)]
mod tests {
    use super::PAGE_ROUTES;
    use crate::Config;
    use std::collections::BTreeSet;
    use std::path::Path;

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

    /// `/a/{x}/b` → `/a/{}/b`: paths compared whatever their parameters are called.
    fn shape(path: &str) -> String {
        path.split('/')
            .map(|seg| if seg.starts_with('{') { "{}" } else { seg })
            .collect::<Vec<_>>()
            .join("/")
    }

    /// The text of the call starting at `text[0]` (an opening parenthesis), up to its match.
    fn call_args(text: &str) -> Option<&str> {
        let mut depth = 0;
        for (i, c) in text.char_indices() {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        return Some(&text[1..i]);
                    }
                }
                _ => {}
            }
        }
        None
    }

    /// The (method, path) pairs routed by `.route(…)` calls in one source file. The path is
    /// a string literal, a `const` of the same file, or one of the assets' hashed addresses;
    /// the methods are the `get(…)`, `post(…)`, … method routers of the call.
    fn routes_in(file: &Path, source: &str, out: &mut BTreeSet<(String, String)>) {
        let consts: Vec<(String, String)> = source
            .lines()
            .filter_map(|l| {
                let rest = l.trim().strip_prefix("const ")?;
                let (name, value) = rest.split_once(": &str = \"")?;
                Some((
                    name.trim().to_string(),
                    value.split('"').next()?.to_string(),
                ))
            })
            .collect();
        for (at, _) in source.match_indices(".route(") {
            let args = call_args(&source[at + ".route".len()..])
                .unwrap_or_else(|| panic!("{}: an unclosed .route( call", file.display()));
            let (path_expr, rest) = args.split_once(',').unwrap_or_else(|| {
                panic!("{}: .route({args}) has no method router", file.display())
            });
            let path_expr = path_expr.trim();
            let path = if let Some(lit) = path_expr.strip_prefix('"') {
                lit.trim_end_matches('"').to_string()
            } else if matches!(path_expr, "css_href()" | "icon_href()" | "wait_js_href()") {
                "/assets/{file}".to_string()
            } else if let Some((_, v)) = consts.iter().find(|(n, _)| n == path_expr) {
                v.clone()
            } else {
                panic!(
                    "{}: cannot read the path of .route({path_expr}, …): write it as a string literal or a const of the same file",
                    file.display()
                )
            };
            let mut found = false;
            for method in ["get", "post", "put", "patch", "delete"] {
                let call = format!("{method}(");
                let routed = rest.match_indices(&call).any(|(i, _)| {
                    let before = rest[..i].chars().next_back();
                    before.is_none_or(|c| !(c.is_alphanumeric() || c == '_'))
                });
                if routed {
                    out.insert((method.to_uppercase(), shape(&path)));
                    found = true;
                }
            }
            assert!(
                found,
                "{}: no get(…)/post(…) method router in .route({args})",
                file.display()
            );
        }
    }

    fn sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("the pages' sources") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                sources(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    /// Completeness of [`PAGE_ROUTES`] (which the access-control matrix walks): every
    /// address a page module routes is listed. Axum cannot list a router's routes, so this
    /// reads the pages' sources for their `.route(…)` calls; the matrix checks the other
    /// way (every listed address answers as its row expects).
    #[test]
    fn every_routed_page_is_in_the_access_matrix_list() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/pages");
        let mut files = Vec::new();
        sources(&dir, &mut files);
        let mut routed = BTreeSet::new();
        for f in &files {
            let text = std::fs::read_to_string(f).expect("a readable source file");
            // This file's tests mention `.route(` in their own text; the routes are above.
            let text = text.split("#[cfg(test)]").next().unwrap_or_default();
            routes_in(f, text, &mut routed);
        }
        assert!(
            routed.contains(&("GET".to_string(), "/results".to_string())),
            "the scan finds the routes: {routed:?}"
        );
        let listed: BTreeSet<(String, String)> = PAGE_ROUTES
            .iter()
            .map(|(m, p)| (m.to_string(), shape(p)))
            .collect();
        let missing: Vec<_> = routed.difference(&listed).collect();
        assert!(
            missing.is_empty(),
            "pages routed but not in PAGE_ROUTES (add them there and a row to tests/access_matrix.rs): {missing:?}"
        );
    }
}
