//! Sign-in and sessions: `POST /api/v1/auth/login` trades a username (matric number, staff
//! id or `admin`) and password for a bearer token; `GET /api/v1/me` reads it back;
//! `POST /api/v1/auth/logout` ends the account's sessions; `POST /api/v1/auth/password`
//! changes the password (ending other sessions); `POST /api/v1/users/{username}/revoke-sessions`
//! lets the registry administrator end someone's sessions, and
//! `POST /api/v1/users/{username}/password` reset their password (to be changed at sign-in).
//!
//! An unknown user and a wrong password must never be told apart, not by the body, the
//! status or the throttling; the service makes them take the same time too.

use super::error::ApiResult;
use super::extract::{ApiJson, ApiPath, Auth, ClientIp};
use super::RouteTable;
use crate::services::auth::Session;
use crate::services::forced_password::Reset;
use crate::services::{ServiceError, Services};
use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::Json;
use eportal_core::Role;
use serde::{Deserialize, Serialize};

pub(super) fn routes(t: RouteTable) -> RouteTable {
    t.route(Method::POST, "/api/v1/auth/login", login)
        .route(Method::GET, "/api/v1/me", me)
        .route(Method::POST, "/api/v1/auth/logout", logout)
        .route(Method::POST, "/api/v1/auth/password", change_password)
        .route(
            Method::POST,
            "/api/v1/users/{username}/revoke-sessions",
            revoke_sessions,
        )
        .route(
            Method::POST,
            "/api/v1/users/{username}/password",
            reset_password,
        )
}

#[derive(Deserialize)]
struct LoginRequest {
    username: String,
    password: String,
}

async fn login(
    State(s): State<Services>,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<LoginRequest>,
) -> ApiResult<Json<Session>> {
    let outcome = s.sign_in(&body.username, &body.password, ip).await;
    let label = match &outcome {
        Ok(_) => "ok",
        Err(ServiceError::BadCredentials) => "bad_credentials",
        Err(ServiceError::Throttled { .. }) => "throttled",
        Err(ServiceError::Overloaded { .. }) => "overloaded",
        Err(_) => "error",
    };
    s.metrics.logins.with_label_values(&[label]).inc();
    Ok(Json(outcome?))
}

#[derive(Serialize)]
struct Me {
    username: String,
    display_name: String,
    roles: Vec<Role>,
    password_change_required: bool,
}

async fn me(Auth(who): Auth) -> Json<Me> {
    Json(Me {
        username: who.username,
        display_name: who.display_name,
        roles: who.roles,
        password_change_required: who.password_change_required,
    })
}

/// Signs out: every token of the account stops working, on every device.
async fn logout(State(s): State<Services>, Auth(who): Auth) -> ApiResult<StatusCode> {
    s.sign_out(&who).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct PasswordRequest {
    current_password: String,
    new_password: String,
}

/// Changes the password; the answer is a new session (the old token and every other one end).
async fn change_password(
    State(s): State<Services>,
    Auth(who): Auth,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<PasswordRequest>,
) -> ApiResult<Json<Session>> {
    Ok(Json(
        s.change_password(&who, &body.current_password, &body.new_password, ip)
            .await?,
    ))
}

#[derive(Serialize)]
struct Revoked {
    username: String,
    /// Tokens signed before this version are refused.
    session_version: u64,
}

async fn revoke_sessions(
    State(s): State<Services>,
    Auth(who): Auth,
    ApiPath(username): ApiPath<String>,
) -> ApiResult<Json<Revoked>> {
    let session_version = s.revoke_sessions(&who, &username).await?;
    Ok(Json(Revoked {
        username: crate::services::auth::normalise_username(&username),
        session_version,
    }))
}

#[derive(Deserialize)]
struct ResetRequest {
    /// Absent: a temporary password is generated and returned once.
    new_password: Option<String>,
}

/// The registry administrator sets someone's password; they must change it at next sign-in.
async fn reset_password(
    State(s): State<Services>,
    Auth(who): Auth,
    ApiPath(username): ApiPath<String>,
    ApiJson(body): ApiJson<ResetRequest>,
) -> ApiResult<Json<Reset>> {
    Ok(Json(
        s.reset_password(&who, &username, body.new_password.as_deref())
            .await?,
    ))
}
