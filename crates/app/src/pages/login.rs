//! Sign-in and sign-out of the pages. Signing in goes through `Services::sign_in`, exactly as
//! `POST /api/v1/auth/login` does (the same throttling, the same "wrong username or
//! password" for an unknown user and a wrong password); signing out through
//! `Services::sign_out`, as `POST /api/v1/auth/logout` (every session of the account ends).
//!
//! The waiting room: a sign-in held back because the hashing pool is busy (`503`) comes back
//! as the form with the username kept, the wait in words, and a small script of this portal
//! (`/assets/wait.{hash}.js`; the content security policy allows no inline script) that
//! counts the wait down and sends the form again by itself once the password is typed in
//! again. The password is never put back into the page, and a `<meta refresh>` could not
//! send a form; without the script the page still says how long to wait.

use super::csrf::{self, LOGIN_COOKIE};
use super::errors::PageError;
use super::session::{self, local_path, now_secs, Ended, PageSession, COOKIE};
use super::view::{render, Layout};
use crate::http::extract::ClientIp;
use crate::services::{ServiceError, Services};
use askama::Template;
use axum::extract::{Form, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde::Deserialize;

/// How long a sign-in form stays usable.
const LOGIN_FORM_SECS: u64 = 60 * 60;

pub(super) fn routes(t: Router<Services>) -> Router<Services> {
    t.route("/login", get(form).post(sign_in))
        .route("/logout", post(sign_out))
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    layout: Layout,
    next: String,
    username: String,
    /// Why the last attempt failed, or why the visitor is here.
    error: Option<String>,
    notice: Option<String>,
    /// Seconds until a sign-in held back by the waiting room may come again.
    wait: Option<u64>,
}

#[derive(Deserialize, Default)]
struct LoginQuery {
    next: Option<String>,
    bye: Option<String>,
    ended: Option<String>,
}

/// Renders the form with a fresh nonce cookie binding it to this browser.
fn page(
    status: StatusCode,
    headers: &HeaderMap,
    services: &Services,
    mut page: LoginPage,
) -> Response {
    // Another tab's sign-in form stays usable: the browser's nonce is kept if it has one.
    let nonce = session::cookie(headers, LOGIN_COOKIE)
        .filter(|n| csrf::well_formed_nonce(n))
        .map(str::to_string)
        .unwrap_or_else(csrf::new_nonce);
    page.layout.csrf = csrf::login_token(services, &nonce);
    let mut res = render(status, &page);
    let secure = session::secure(&services.config.pages, headers);
    res.headers_mut().append(
        header::SET_COOKIE,
        session::set_cookie(LOGIN_COOKIE, &nonce, LOGIN_FORM_SECS, secure),
    );
    res
}

async fn form(
    State(s): State<Services>,
    headers: HeaderMap,
    signed: Option<Extension<PageSession>>,
    ended: Option<Extension<Ended>>,
    Query(q): Query<LoginQuery>,
) -> Response {
    let next = q
        .next
        .as_deref()
        .and_then(local_path)
        .unwrap_or("/")
        .to_string();
    if signed.is_some() {
        return Redirect::to(&next).into_response();
    }
    let notice = if q.bye.is_some() {
        Some("You have signed out.".to_string())
    } else if ended.is_some() || q.ended.is_some() {
        Some("Your session has ended; please sign in again.".to_string())
    } else {
        None
    };
    let login = LoginPage {
        layout: Layout::anonymous("Sign in"),
        next,
        username: String::new(),
        error: None,
        notice,
        wait: None,
    };
    page(StatusCode::OK, &headers, &s, login)
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
    csrf: Option<String>,
}

async fn sign_in(
    State(s): State<Services>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Result<Form<LoginForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Ok(Form(f)) = body else {
        return csrf::refused().into_response();
    };
    if !csrf::check_login(
        &s,
        session::cookie(&headers, LOGIN_COOKIE),
        f.csrf.as_deref(),
    ) {
        return csrf::refused().into_response();
    }
    let next = local_path(&f.next).unwrap_or("/").to_string();
    let outcome = s.sign_in(&f.username, &f.password, ip).await;
    let label = match &outcome {
        Ok(_) => "ok",
        Err(ServiceError::BadCredentials) => "bad_credentials",
        Err(ServiceError::Throttled { .. }) => "throttled",
        Err(ServiceError::Overloaded { .. }) => "overloaded",
        Err(_) => "error",
    };
    s.metrics.logins.with_label_values(&[label]).inc();
    let err = match outcome {
        Ok(signed) => {
            let mut res = Redirect::to(&next).into_response();
            let hs = res.headers_mut();
            hs.append(
                header::SET_COOKIE,
                session::cookie_for(&s, &headers, now_secs(), &signed.token),
            );
            hs.append(
                header::SET_COOKIE,
                session::set_cookie(
                    LOGIN_COOKIE,
                    "",
                    0,
                    session::secure(&s.config.pages, &headers),
                ),
            );
            return res;
        }
        Err(e) => PageError::from(e),
    };
    // The failure is shown on the form itself, with the status the API would answer.
    let retry = err.retry_after_secs;
    let wait = retry.filter(|_| label == "overloaded");
    let message = match (wait, retry) {
        (Some(secs), _) => format!(
            "Many people are signing in right now, so yours was held back. Please type your password again and sign in in {}.",
            in_words(secs)
        ),
        (None, Some(secs)) => {
            format!("{} (you can try again in {}.)", err.message, in_words(secs))
        }
        (None, None) => err.message,
    };
    let login = LoginPage {
        layout: Layout::anonymous("Sign in"),
        next,
        username: f.username.trim().to_string(),
        error: Some(message),
        notice: None,
        wait,
    };
    let mut res = page(err.status, &headers, &s, login);
    if let Some(secs) = retry {
        res.headers_mut().insert(header::RETRY_AFTER, secs.into());
    }
    res
}

/// "3 minutes", "40 seconds".
pub fn in_words(secs: u64) -> String {
    match secs {
        0..=1 => "a second".into(),
        2..=90 => format!("{secs} seconds"),
        _ => format!("{} minutes", secs.div_ceil(60)),
    }
}

#[derive(Deserialize)]
struct CsrfOnly {
    csrf: Option<String>,
}

async fn sign_out(
    State(s): State<Services>,
    headers: HeaderMap,
    signed: Option<Extension<PageSession>>,
    body: Result<Form<CsrfOnly>, axum::extract::rejection::FormRejection>,
) -> Response {
    let clear = session::set_cookie(COOKIE, "", 0, session::secure(&s.config.pages, &headers));
    // Without a standing session there is nothing to end: just forget the cookie.
    if let Some(Extension(session)) = signed {
        let sent = body.ok().and_then(|Form(f)| f.csrf);
        if let Err(e) = csrf::check(&s, &session, sent.as_deref()) {
            return e.into_response();
        }
        if let Err(e) = s.sign_out(&session.who).await {
            return PageError::from(e).into_response();
        }
    }
    let mut res = Redirect::to("/login?bye=1").into_response();
    res.headers_mut().append(header::SET_COOKIE, clear);
    res
}
