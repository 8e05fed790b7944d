//! The reviewers' queue: `GET /api/v1/me/review-queue` lists the course results waiting for
//! the HOD, dean or senate member asking. Who sees what is decided by
//! [`crate::services::review`], never here.

use super::error::ApiResult;
use super::extract::Auth;
use super::RouteTable;
use crate::services::review::QueueItem;
use crate::services::Services;
use axum::extract::State;
use axum::http::Method;
use axum::Json;
use serde::Serialize;

pub(super) fn routes(t: RouteTable) -> RouteTable {
    t.route(Method::GET, "/api/v1/me/review-queue", queue)
}

#[derive(Serialize)]
struct Queue {
    items: Vec<QueueItem>,
}

async fn queue(State(s): State<Services>, Auth(who): Auth) -> ApiResult<Json<Queue>> {
    Ok(Json(Queue {
        items: s.review_queue(&who).await?,
    }))
}
