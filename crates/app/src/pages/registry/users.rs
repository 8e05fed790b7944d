//! `/registry/users`: the reset of a person's password by the registry administrator, through
//! `Services::reset_password` exactly as `POST /api/v1/users/{username}/password` does (the
//! password given, or a generated one; every session of the account ends; the person must
//! change it at their next sign-in). A generated password is shown on the answer page once,
//! and is never kept anywhere to be shown again.

use super::super::csrf;
use super::super::errors::PageError;
use super::super::session::{PageSession, Signed};
use super::super::view::{render, Layout};
use crate::pages::words::sentence;
use crate::services::forced_password::Reset;
use crate::services::sessions::MIN_PASSWORD_CHARS;
use crate::services::{ServiceError, Services};
use askama::Template;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

pub(super) fn routes(t: Router<Services>) -> Router<Services> {
    t.route("/registry/users", get(form))
        .route("/registry/users/password", post(reset))
}

#[derive(Template)]
#[template(path = "registry_users.html")]
struct FormPage {
    layout: Layout,
    username: String,
    error: Option<String>,
    min_chars: usize,
}

fn form_page(
    s: &PageSession,
    status: StatusCode,
    username: &str,
    error: Option<String>,
) -> Response {
    let page = FormPage {
        layout: Layout::signed(s, "Reset a password"),
        username: username.to_string(),
        error,
        min_chars: MIN_PASSWORD_CHARS,
    };
    render(status, &page)
}

async fn form(Signed(s): Signed) -> Response {
    if let Err(e) = Services::registry_desk(&s.who) {
        return PageError::from(e).into_response();
    }
    form_page(&s, StatusCode::OK, "", None)
}

#[derive(Template)]
#[template(path = "registry_reset.html")]
struct ResetPage {
    layout: Layout,
    username: String,
    temporary_password: Option<String>,
}

#[derive(Deserialize)]
struct ResetForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    new_password: String,
    csrf: Option<String>,
}

async fn reset(
    State(services): State<Services>,
    Signed(s): Signed,
    body: Result<Form<ResetForm>, FormRejection>,
) -> Response {
    let Ok(Form(f)) = body else {
        return csrf::refused().into_response();
    };
    if let Err(e) = csrf::check(&services, &s, f.csrf.as_deref()) {
        return e.into_response();
    }
    // An empty field asks for a generated password (the API's absent `new_password`).
    let given = Some(f.new_password.as_str()).filter(|p| !p.is_empty());
    match services.reset_password(&s.who, &f.username, given).await {
        Ok(Reset {
            username,
            temporary_password,
            ..
        }) => {
            let page = ResetPage {
                layout: Layout::signed(&s, "Password reset"),
                username,
                temporary_password,
            };
            render(StatusCode::OK, &page)
        }
        Err(ServiceError::NotFound(m)) => {
            let msg = format!(
                "{} Check the username: a student's is their matric number, a staff member's their staff id.",
                sentence(&m)
            );
            form_page(&s, StatusCode::NOT_FOUND, &f.username, Some(msg))
        }
        Err(ServiceError::Invalid(m)) => form_page(
            &s,
            StatusCode::UNPROCESSABLE_ENTITY,
            &f.username,
            Some(sentence(&m)),
        ),
        Err(e) => PageError::from(e).into_response(),
    }
}
