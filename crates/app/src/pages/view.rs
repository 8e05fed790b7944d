//! What every page's layout needs (the stylesheet, the signed-in person, the CSRF token of
//! the sign-out form) and the rendering of a template into an HTML answer.

use super::errors::PageError;
use super::session::PageSession;
use crate::services::Principal;
use askama::Template;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use eportal_core::Role;

/// The layout's data; every page template has one as `layout`.
pub struct Layout {
    pub css: &'static str,
    /// The signed-in person's name, when someone is signed in.
    pub who: Option<String>,
    /// The CSRF token of the sign-out form (and of the page's own forms).
    pub csrf: String,
    pub title: String,
    /// The signed-in person's pages, by role, for the header's menu.
    pub links: Vec<NavLink>,
}

/// One entry of the header's menu.
pub struct NavLink {
    pub href: &'static str,
    pub label: &'static str,
}

/// The pages a person's roles open, in the order the menu shows them.
pub fn links_for(who: &Principal) -> Vec<NavLink> {
    let mut links = Vec::new();
    let mut add = |on: bool, href, label| {
        if on {
            links.push(NavLink { href, label });
        }
    };
    add(who.has(Role::Student), "/results", "Results");
    add(who.has(Role::Lecturer), "/courses", "My courses");
    let reviewer = [Role::Hod, Role::Dean, Role::Senate]
        .iter()
        .any(|r| who.has(*r));
    add(reviewer, "/review", "Review");
    add(reviewer, "/amendments", "Amendments");
    add(who.has(Role::Admin), "/registry", "Registry");
    add(true, "/account", "Account");
    links
}

impl Layout {
    pub fn anonymous(title: impl Into<String>) -> Self {
        Layout {
            css: super::assets::css_href(),
            who: None,
            csrf: String::new(),
            title: title.into(),
            links: Vec::new(),
        }
    }

    pub fn signed(session: &PageSession, title: impl Into<String>) -> Self {
        Layout {
            who: Some(session.who.display_name.clone()),
            csrf: session.csrf.clone(),
            links: links_for(&session.who),
            ..Layout::anonymous(title)
        }
    }
}

/// Renders `page` as an HTML answer with `status`.
pub fn render(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            html,
        )
            .into_response(),
        Err(e) => {
            PageError::internal(&anyhow::anyhow!("a page did not render: {e}")).into_response()
        }
    }
}
