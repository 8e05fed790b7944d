//! The page a results link opens: `/r/{token}` shows the link's student's results — the
//! results page, read-only, with no sign-in — or says plainly why the link does not open
//! (not a link the portal made, expired, or withdrawn when the student's sessions ended) and
//! that signing in still works. Who is signed in in this browser does not matter: the link
//! opens its own student's results and nothing else. Like every page it is kept by no cache
//! and sends its address as a referrer to no other site (see `headers`).

use super::errors::PageError;
use super::results::page;
use super::view::{render, Layout};
use crate::services::links::LinkRefusal;
use crate::services::Services;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

pub(super) fn routes(t: Router<Services>) -> Router<Services> {
    t.route("/r/{token}", get(by_link))
}

async fn by_link(State(services): State<Services>, Path(token): Path<String>) -> Response {
    match services.results_by_link(&token).await {
        Ok((r, stale)) => render(
            StatusCode::OK,
            &page(Layout::anonymous("Your results"), r, stale, false),
        ),
        Err(LinkRefusal::Service(e)) => PageError::from(e).into_response(),
        Err(r) => {
            let (status, heading) = match r {
                LinkRefusal::Invalid => {
                    (StatusCode::NOT_FOUND, "This link does not open any results")
                }
                LinkRefusal::Expired => (StatusCode::FORBIDDEN, "This results link has expired"),
                _ => (StatusCode::FORBIDDEN, "This results link no longer works"),
            };
            PageError::new(status, heading, r.to_string()).into_response()
        }
    }
}
