//! `/registry/students`: the registry's view of one student, found by matric number: their
//! published results (the results page, through `Services::student_results`, as
//! `GET /api/v1/students/{m}/results`) with the links to issue their transcript and result
//! slips. Revoking an issued document is done on its verification page.

use super::super::errors::PageError;
use super::super::results::page;
use super::super::session::Signed;
use super::super::view::{render, Layout};
use crate::services::Services;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use eportal_core::MatricNo;
use serde::Deserialize;

pub(super) fn routes(t: Router<Services>) -> Router<Services> {
    t.route("/registry/students", get(student))
}

#[derive(Deserialize)]
struct Find {
    matric: Option<String>,
}

#[derive(Template)]
#[template(path = "registry_students.html")]
struct FindPage {
    layout: Layout,
    matric: String,
    error: Option<String>,
}

async fn student(
    State(services): State<Services>,
    Signed(s): Signed,
    Query(q): Query<Find>,
) -> Response {
    if let Err(e) = Services::registry_desk(&s.who) {
        return PageError::from(e).into_response();
    }
    let typed = q.matric.unwrap_or_default().trim().to_string();
    let form = |status, error: Option<String>| {
        render(
            status,
            &FindPage {
                layout: Layout::signed(&s, "Find a student"),
                matric: typed.clone(),
                error,
            },
        )
    };
    if typed.is_empty() {
        return form(StatusCode::OK, None);
    }
    let matric = match MatricNo::parse(&typed) {
        Ok(m) => m,
        Err(e) => return form(StatusCode::UNPROCESSABLE_ENTITY, Some(e.0)),
    };
    match services.student_results(&s.who, &matric).await {
        Ok((r, stale)) => {
            let title = format!("{} ({})", r.name, r.matric_no);
            render(
                StatusCode::OK,
                &page(Layout::signed(&s, title), r, stale, true),
            )
        }
        Err(crate::services::ServiceError::NotFound(m)) => form(StatusCode::NOT_FOUND, Some(m)),
        Err(e) => PageError::from(e).into_response(),
    }
}
