//! The account pages: who is signed in with which roles, and the change of password, which
//! goes through `Services::change_password` exactly as `POST /api/v1/auth/password` does
//! (the same checks of the current password and the new one, the same throttling; every
//! other session of the account ends and this one continues with the new token).

use super::csrf;
use super::errors::PageError;
use super::session::{self, Signed};
use super::view::{render, Layout};
use crate::http::extract::ClientIp;
use crate::services::{ServiceError, Services};
use askama::Template;
use axum::extract::{Form, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;

pub(super) fn routes(t: Router<Services>) -> Router<Services> {
    t.route("/account", get(account)).route(
        "/account/password",
        get(password_form).post(change_password),
    )
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    layout: Layout,
    username: String,
    roles: Vec<String>,
}

async fn account(Signed(s): Signed) -> Response {
    let page = AccountPage {
        layout: Layout::signed(&s, "Your account"),
        username: s.who.username.clone(),
        roles: s
            .who
            .roles
            .iter()
            .map(|r| r.as_str().replace('_', " "))
            .collect(),
    };
    render(StatusCode::OK, &page)
}

#[derive(Template)]
#[template(path = "password.html")]
struct PasswordPage {
    layout: Layout,
    error: Option<String>,
    done: bool,
    min_chars: usize,
}

fn password_page(
    s: &session::PageSession,
    status: StatusCode,
    error: Option<String>,
    done: bool,
) -> Response {
    let page = PasswordPage {
        layout: Layout::signed(s, "Change your password"),
        error,
        done,
        min_chars: crate::services::sessions::MIN_PASSWORD_CHARS,
    };
    render(status, &page)
}

async fn password_form(Signed(s): Signed) -> Response {
    password_page(&s, StatusCode::OK, None, false)
}

#[derive(Deserialize)]
struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    repeat_password: String,
    csrf: Option<String>,
}

/// The service's words without the API's field prefix ("new_password: …").
fn plain(message: &str) -> String {
    match message.split_once(": ") {
        Some((field, rest)) if field.ends_with("_password") => {
            let mut c = rest.chars();
            c.next()
                .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
                .unwrap_or_default()
        }
        _ => message.to_string(),
    }
}

async fn change_password(
    State(services): State<Services>,
    Signed(s): Signed,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Result<Form<PasswordForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Ok(Form(f)) = body else {
        return csrf::refused().into_response();
    };
    if let Err(e) = csrf::check(&services, &s, f.csrf.as_deref()) {
        return e.into_response();
    }
    if f.new_password != f.repeat_password {
        let msg = "The new password and its repeat are not the same; type them again.";
        return password_page(
            &s,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(msg.into()),
            false,
        );
    }
    match services
        .change_password(&s.who, &f.current_password, &f.new_password, ip)
        .await
    {
        Ok(new) => {
            // This browser continues with the new token; the page session keeps its start.
            let mut continued = s.clone();
            continued.csrf = csrf::token_for(&services, &new.token);
            continued.token = new.token;
            let mut res = password_page(&continued, StatusCode::OK, None, true);
            res.headers_mut().append(
                header::SET_COOKIE,
                session::cookie_for(&services, &headers, s.first, &continued.token),
            );
            res
        }
        Err(e @ (ServiceError::Invalid(_) | ServiceError::Forbidden(_))) => {
            let e = PageError::from(e);
            password_page(&s, e.status, Some(plain(&e.message)), false)
        }
        Err(e) => PageError::from(e).into_response(),
    }
}
