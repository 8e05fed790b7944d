//! `/registry/sheets` (every score sheet with its course, term, uploader, status and the
//! state of its job, newest first, `?status=` and `?offset=` as the API's
//! `/api/v1/admin/sheets`) and `/registry/dead-letters` (the jobs given up on, with their
//! reasons), both from `crate::services::registry`.

use super::super::errors::PageError;
use super::super::session::{PageSession, Signed};
use super::super::view::{render, Layout};
use crate::pages::words::utc;
use crate::services::registry::{JobState, RegistrySheet, SheetsPage, STATUSES};
use crate::services::Services;
use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use eportal_ports::SheetStatus;
use serde::Deserialize;

/// Sheets on one page.
const PAGE: u32 = 50;

pub(super) fn routes(t: Router<Services>) -> Router<Services> {
    t.route("/registry/sheets", get(sheets))
        .route("/registry/dead-letters", get(dead_letters))
}

struct Row {
    id: i64,
    course: String,
    term: String,
    filename: String,
    uploaded_by: String,
    uploaded_at: String,
    status: &'static str,
    rows: String,
    job: &'static str,
    /// Why it was given up on, or (retrying) its latest error.
    reason: Option<String>,
    retries: u32,
}

impl From<RegistrySheet> for Row {
    fn from(s: RegistrySheet) -> Self {
        Row {
            id: s.id,
            course: s.term.course_code.to_string(),
            term: format!("{}, {} semester", s.term.session, s.term.semester),
            filename: s.filename.unwrap_or_default(),
            uploaded_by: s.uploaded_by,
            uploaded_at: utc(s.uploaded_at_ms),
            status: s.status.as_str(),
            rows: format!(
                "{} of {} accepted, {} refused",
                s.rows_accepted, s.rows_total, s.rows_rejected
            ),
            job: match s.job.state {
                JobState::Pending => "pending",
                JobState::Retrying => "retrying",
                JobState::Done => "done",
                JobState::DeadLettered => "dead-lettered",
            },
            reason: s.job.reason,
            retries: s.job.retries,
        }
    }
}

struct Filter {
    value: &'static str,
    selected: bool,
}

/// A link to another page of the list.
struct PageLink {
    href: String,
    label: &'static str,
}

#[derive(Template)]
#[template(path = "registry_sheets.html")]
struct ListPage {
    layout: Layout,
    /// The dead letters alone (no status filter).
    dead_letters: bool,
    filters: Vec<Filter>,
    rows: Vec<Row>,
    total: u64,
    first: u64,
    last: u64,
    pager: Vec<PageLink>,
    queue: Option<eportal_ports::queue::QueueStats>,
}

#[derive(Deserialize)]
struct ListQuery {
    status: Option<String>,
    offset: Option<String>,
}

const UNREADABLE: &str = "This address could not be read. Open the list from the registry's page.";

fn bad_query(message: String) -> Response {
    PageError::new(
        StatusCode::BAD_REQUEST,
        "This list cannot be shown",
        message,
    )
    .into_response()
}

/// The list's offset, or why it cannot be read.
fn offset(q: &ListQuery) -> Result<u32, String> {
    match q.offset.as_deref().map(str::trim) {
        None | Some("") => Ok(0),
        Some(v) => v.parse().map_err(|_| {
            format!(
                "'{v}' is not a place in the list: the offset is a whole number, 0 or more. Open the list from the registry's page."
            )
        }),
    }
}

fn list_page(s: &PageSession, path: &str, status: Option<SheetStatus>, p: SheetsPage) -> ListPage {
    let dead_letters = path.ends_with("dead-letters");
    let link = |offset: u32| match status {
        Some(st) if !dead_letters => format!("{path}?status={}&offset={offset}", st.as_str()),
        _ => format!("{path}?offset={offset}"),
    };
    let mut pager = Vec::new();
    if p.offset > 0 {
        pager.push(PageLink {
            href: link(p.offset.saturating_sub(PAGE)),
            label: "Newer",
        });
    }
    let shown = p.sheets.len() as u64;
    if u64::from(p.offset) + shown < p.total {
        pager.push(PageLink {
            href: link(p.offset + PAGE),
            label: "Older",
        });
    }
    let title = if dead_letters {
        "Dead letters"
    } else {
        "Score sheets"
    };
    ListPage {
        layout: Layout::signed(s, title),
        dead_letters,
        filters: STATUSES
            .iter()
            .map(|st| Filter {
                value: st.as_str(),
                selected: status == Some(*st),
            })
            .collect(),
        first: u64::from(p.offset) + u64::from(shown > 0),
        last: u64::from(p.offset) + shown,
        total: p.total,
        rows: p.sheets.into_iter().map(Row::from).collect(),
        pager,
        queue: p.queue,
    }
}

async fn sheets(
    State(services): State<Services>,
    Signed(s): Signed,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> Response {
    let Ok(Query(q)) = q else {
        return bad_query(UNREADABLE.into());
    };
    let status = match q.status.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(v) => match SheetStatus::parse(v) {
            Some(st) => Some(st),
            None => {
                return bad_query(format!(
                    "'{v}' is not a status of a sheet: choose one of queued, processed, rejected, superseded or failed."
                ))
            }
        },
    };
    let offset = match offset(&q) {
        Ok(o) => o,
        Err(m) => return bad_query(m),
    };
    match services.registry_sheets(&s.who, status, PAGE, offset).await {
        Ok(p) => render(
            StatusCode::OK,
            &list_page(&s, "/registry/sheets", status, p),
        ),
        Err(e) => PageError::from(e).into_response(),
    }
}

async fn dead_letters(
    State(services): State<Services>,
    Signed(s): Signed,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> Response {
    let Ok(Query(q)) = q else {
        return bad_query(UNREADABLE.into());
    };
    let offset = match offset(&q) {
        Ok(o) => o,
        Err(m) => return bad_query(m),
    };
    match services.dead_letters(&s.who, PAGE, offset).await {
        Ok(p) => render(
            StatusCode::OK,
            &list_page(&s, "/registry/dead-letters", None, p),
        ),
        Err(e) => PageError::from(e).into_response(),
    }
}
