//! The registry administrator's pages, under `/registry`: an overview of the pipeline, the
//! import of the university's records (`Services::import_as`, the report the command line
//! prints), the reset of a person's password (`Services::reset_password`, as
//! `POST /api/v1/users/{username}/password`), every score sheet with its job, and the dead
//! letters (`Services::registry_sheets` and `dead_letters`, as `/api/v1/admin/*`).
//!
//! Who may use them is the services' to decide ([`Services::registry_desk`] and the use
//! cases' own checks); these handlers only turn forms into calls and answers into pages.

mod imports;
mod sheets;
mod students;
mod users;

use super::errors::PageError;
use super::session::Signed;
use super::view::{render, Layout};
use crate::config::Limits;
use crate::services::registry::Overview;
use crate::services::Services;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

pub(super) fn routes(t: Router<Services>, limits: &Limits) -> Router<Services> {
    let t = t.route("/registry", get(overview));
    let t = imports::routes(t, limits);
    let t = users::routes(t);
    let t = students::routes(t);
    sheets::routes(t)
}

struct Count {
    status: &'static str,
    sheets: u64,
}

#[derive(Template)]
#[template(path = "registry.html")]
struct OverviewPage {
    layout: Layout,
    counts: Vec<Count>,
    total: u64,
    dead_letters: u64,
    queue: Option<eportal_ports::queue::QueueStats>,
    policy_version: u32,
    regrades: Vec<crate::services::regrade::RegradeView>,
}

fn overview_page(layout: Layout, o: Overview) -> OverviewPage {
    let dead_letters = o
        .sheets
        .iter()
        .find(|(s, _)| *s == eportal_ports::SheetStatus::Failed)
        .map_or(0, |(_, n)| *n);
    OverviewPage {
        layout,
        total: o.sheets.iter().map(|(_, n)| n).sum(),
        counts: o
            .sheets
            .into_iter()
            .map(|(s, n)| Count {
                status: s.as_str(),
                sheets: n,
            })
            .collect(),
        dead_letters,
        queue: o.queue,
        policy_version: o.policy_version,
        regrades: o.regrades,
    }
}

async fn overview(State(services): State<Services>, Signed(s): Signed) -> Response {
    match services.registry_overview(&s.who).await {
        Ok(o) => render(
            StatusCode::OK,
            &overview_page(Layout::signed(&s, "Registry"), o),
        ),
        Err(e) => PageError::from(e).into_response(),
    }
}
