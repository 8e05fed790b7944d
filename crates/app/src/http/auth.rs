//! Sign-in and "who am I": `POST /api/v1/auth/login` trades a username (matric number, staff
//! id or `admin`) and password for a bearer token; `GET /api/v1/me` reads it back.
//!
//! An unknown user and a wrong password must never be told apart, not by the body and not
//! by the status; the service makes them take the same time too.

use super::error::ApiResult;
use super::extract::{ApiJson, Auth};
use super::RouteTable;
use crate::services::auth::Session;
use crate::services::{ServiceError, Services};
use axum::extract::State;
use axum::http::Method;
use axum::Json;
use eportal_core::Role;
use serde::{Deserialize, Serialize};

pub(super) fn routes(t: RouteTable) -> RouteTable {
    t.route(Method::POST, "/api/v1/auth/login", login)
        .route(Method::GET, "/api/v1/me", me)
}

#[derive(Deserialize)]
struct LoginRequest {
    username: String,
    password: String,
}

async fn login(
    State(s): State<Services>,
    ApiJson(body): ApiJson<LoginRequest>,
) -> ApiResult<Json<Session>> {
    let outcome = s
        .auth
        .login(s.ports.store.as_ref(), &body.username, &body.password)
        .await;
    let label = match &outcome {
        Ok(_) => "ok",
        Err(ServiceError::BadCredentials) => "bad_credentials",
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
}

async fn me(Auth(who): Auth) -> Json<Me> {
    Json(Me {
        username: who.username,
        display_name: who.display_name,
        roles: who.roles,
    })
}
