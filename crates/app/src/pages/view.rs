//! What every page's layout needs (the stylesheet, the signed-in person, the CSRF token of
//! the sign-out form) and the rendering of a template into an HTML answer.

use super::errors::PageError;
use super::session::PageSession;
use askama::Template;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

/// The layout's data; every page template has one as `layout`.
pub struct Layout {
    pub css: &'static str,
    /// The signed-in person's name, when someone is signed in.
    pub who: Option<String>,
    /// The CSRF token of the sign-out form (and of the page's own forms).
    pub csrf: String,
    pub title: String,
}

impl Layout {
    pub fn anonymous(title: impl Into<String>) -> Self {
        Layout {
            css: super::assets::css_href(),
            who: None,
            csrf: String::new(),
            title: title.into(),
        }
    }

    pub fn signed(session: &PageSession, title: impl Into<String>) -> Self {
        Layout {
            who: Some(session.who.display_name.clone()),
            csrf: session.csrf.clone(),
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
