//! Amendments in the pages: the request form's target on a published course's page
//! (`POST /courses/{course}/{session}/{semester}/amendments`: a reason, and one student per
//! line as "matric number, CA, exam"), the reviewer's list (`/amendments`), and one
//! amendment (`/amendments/{id}`): what it changes, who approved it, and for the reviewer of
//! its current step the approve and reject forms (`POST /amendments/{id}/decision`).
//!
//! Everything goes through the services the API uses (`request_amendment`,
//! `amendments_to_decide`, `amendment_detail`, `decide_amendment`), which decide who may see
//! or do what; a refusal is shown as they word it. This module must never decide an access.

use super::courses::{refused_on_course_page, term_heading, term_of, TermPath};
use super::csrf;
use super::errors::PageError;
use super::session::Signed;
use super::view::{render, Layout};
use super::words::{sentence, utc};
use crate::http::extract::RequestId;
use crate::services::amendments::{NewScores, RecordLine};
use crate::services::Services;
use askama::Template;
use axum::extract::rejection::{FormRejection, PathRejection};
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use eportal_core::amendment::{AmendmentStatus, Decision};
use eportal_ports::Amendment;
use serde::Deserialize;

pub(super) fn routes(t: Router<Services>) -> Router<Services> {
    t.route(
        "/courses/{course}/{session}/{semester}/amendments",
        post(request),
    )
    .route("/amendments", get(list))
    .route("/amendments/{id}", get(one))
    .route("/amendments/{id}/decision", post(decide))
}

/// The records typed into the form: one student per line, the matric number, CA and exam
/// separated by commas, semicolons or tabs. Blank lines are skipped.
pub(super) fn records(text: &str) -> Result<Vec<RecordLine>, String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let parts: Vec<&str> = line.split([',', ';', '\t']).map(str::trim).collect();
        match parts.as_slice() {
            [matric, ca, exam] if !matric.is_empty() && !ca.is_empty() && !exam.is_empty() => {
                out.push(RecordLine {
                    matric: matric.to_string(),
                    ca: ca.to_string(),
                    exam: exam.to_string(),
                })
            }
            _ => {
                return Err(format!(
                    "Line {} (\"{}\") is not a matric number, a CA and an exam score separated by commas, such as \"SCI/2021/0003, 18, 45\" (write ABS for an absence).",
                    n + 1,
                    line.trim()
                ))
            }
        }
    }
    Ok(out)
}

/// How a status reads on the pages.
pub(super) fn status_words(a: &Amendment) -> String {
    match a.status {
        AmendmentStatus::Pending => match a.chain.step(a.approvals.len()) {
            Some(role) => format!("waiting for the {}", role.title()),
            None => "pending".into(),
        },
        AmendmentStatus::Approved => "approved; being applied".into(),
        AmendmentStatus::Applied => match a.applied_at_ms {
            Some(at) => format!("applied {}", utc(at)),
            None => "applied".into(),
        },
        AmendmentStatus::Rejected => "rejected".into(),
    }
}

#[derive(Deserialize)]
struct RequestForm {
    csrf: Option<String>,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    records: String,
}

async fn request(
    State(services): State<Services>,
    Signed(s): Signed,
    request_id: Option<Extension<RequestId>>,
    p: TermPath,
    body: Result<Form<RequestForm>, FormRejection>,
) -> Response {
    let Ok(Form(f)) = body else {
        return csrf::refused().into_response();
    };
    if let Err(e) = csrf::check(&services, &s, f.csrf.as_deref()) {
        return e.into_response();
    }
    let term = match term_of(p) {
        Ok(t) => t,
        Err(e) => return e.into_response(),
    };
    let refuse = |message: String| {
        PageError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Please check the form",
            message,
        )
    };
    let lines = match records(&f.records) {
        Ok(lines) => lines,
        Err(m) => return refused_on_course_page(&services, &s, &term, refuse(m)).await,
    };
    let rid = request_id.as_ref().map(|Extension(r)| r.0.as_str());
    match services
        .request_amendment(&s.who, &term, &f.reason, NewScores::Records(lines), rid)
        .await
    {
        Ok(a) => Redirect::to(&format!("/amendments/{}", a.id)).into_response(),
        Err(e) => refused_on_course_page(&services, &s, &term, PageError::from(e)).await,
    }
}

struct Line {
    href: String,
    id: i64,
    course: String,
    term: String,
    reason: String,
    by: String,
    when: String,
    status: String,
}

fn line(a: &Amendment) -> Line {
    Line {
        href: format!("/amendments/{}", a.id),
        id: a.id,
        course: a.term.course_code.to_string(),
        term: term_heading(&a.term),
        reason: a.reason.clone(),
        by: a.requested_by.clone(),
        when: utc(a.requested_at_ms),
        status: status_words(a),
    }
}

#[derive(Template)]
#[template(path = "amendments.html")]
struct ListPage {
    layout: Layout,
    items: Vec<Line>,
}

async fn list(State(services): State<Services>, Signed(s): Signed) -> Response {
    match services.amendments_to_decide(&s.who).await {
        Ok(items) => render(
            StatusCode::OK,
            &ListPage {
                layout: Layout::signed(&s, "Amendments to decide"),
                items: items.iter().map(line).collect(),
            },
        ),
        Err(e) => PageError::from(e).into_response(),
    }
}

struct Step {
    role: String,
    by: String,
    when: String,
}

#[derive(Template)]
#[template(path = "amendment.html")]
struct OnePage {
    layout: Layout,
    a: Line,
    course_href: String,
    chain: String,
    steps: Vec<Step>,
    rejection: Option<String>,
    sheet_href: String,
    changed: Vec<String>,
    added: u32,
    rows_rejected: u32,
    /// Offer the approve and reject forms (the service decides when they are pressed).
    offer_decision: bool,
    error: Option<String>,
}

type IdPath = Result<Path<String>, PathRejection>;

fn amendment_id(p: IdPath) -> Result<i64, PageError> {
    p.ok()
        .and_then(|Path(raw)| raw.trim().parse().ok())
        .filter(|n: &i64| *n > 0)
        .ok_or_else(|| {
            PageError::new(
                StatusCode::NOT_FOUND,
                "No such amendment",
                "This address names no amendment. Open it from its course page or from your list of amendments.",
            )
        })
}

async fn page(
    services: &Services,
    s: &super::session::PageSession,
    id: i64,
    error: Option<PageError>,
) -> Response {
    let d = match services.amendment_detail(&s.who, id).await {
        Ok(d) => d,
        Err(e) => return PageError::from(e).into_response(),
    };
    let a = &d.amendment;
    let changes = d.sheet.sheet.changes.clone().unwrap_or_default();
    let page = OnePage {
        layout: Layout::signed(s, format!("Amendment {id}")),
        course_href: format!("/courses/{}", crate::http::extract::term_path(&a.term)),
        chain: a
            .chain
            .roles()
            .iter()
            .map(|r| r.title())
            .collect::<Vec<_>>()
            .join(", then "),
        steps: a
            .approvals
            .iter()
            .map(|x| Step {
                role: x.role.title().to_string(),
                by: x.by.clone(),
                when: utc(x.at_ms),
            })
            .collect(),
        rejection: a.rejection.as_ref().map(|r| {
            sentence(&format!(
                "Rejected by {} on {}: {}",
                r.by,
                utc(r.at_ms),
                r.reason
            ))
        }),
        sheet_href: format!("/sheets/{}", a.sheet_id),
        changed: changes.changed_matrics.clone(),
        added: changes.added,
        rows_rejected: d.sheet.sheet.rows_rejected,
        offer_decision: d.waiting_for.is_some_and(|role| s.who.has(role))
            && a.requested_by != s.who.username,
        a: line(a),
        error: error.as_ref().map(|e| e.message.clone()),
    };
    let status = error.map_or(StatusCode::OK, |e| e.status);
    render(status, &page)
}

async fn one(State(services): State<Services>, Signed(s): Signed, p: IdPath) -> Response {
    match amendment_id(p) {
        Ok(id) => page(&services, &s, id, None).await,
        Err(e) => e.into_response(),
    }
}

#[derive(Deserialize)]
struct DecisionForm {
    csrf: Option<String>,
    decision: Option<String>,
    #[serde(default)]
    reason: String,
}

async fn decide(
    State(services): State<Services>,
    Signed(s): Signed,
    request_id: Option<Extension<RequestId>>,
    p: IdPath,
    body: Result<Form<DecisionForm>, FormRejection>,
) -> Response {
    let Ok(Form(f)) = body else {
        return csrf::refused().into_response();
    };
    if let Err(e) = csrf::check(&services, &s, f.csrf.as_deref()) {
        return e.into_response();
    }
    let id = match amendment_id(p) {
        Ok(id) => id,
        Err(e) => return e.into_response(),
    };
    let decision = match f.decision.as_deref() {
        Some("approve") => Decision::Approve,
        Some("reject") => Decision::Reject { reason: f.reason },
        _ => {
            let e = PageError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Please check the form",
                "Press Approve or Reject.",
            );
            return page(&services, &s, id, Some(e)).await;
        }
    };
    let rid = request_id.as_ref().map(|Extension(r)| r.0.as_str());
    match services.decide_amendment(&s.who, id, decision, rid).await {
        Ok(_) => Redirect::to(&format!("/amendments/{id}")).into_response(),
        Err(e) => {
            let e = PageError::from(e);
            if e.status == StatusCode::NOT_FOUND {
                return e.into_response();
            }
            page(&services, &s, id, Some(e)).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_records_are_read_line_by_line_and_a_bad_line_is_named() {
        let got = records("SCI/2021/0003, 18, 45\n\n SCI/2021/0004;20;ABS \nSCI/2021/0005\t7\t9")
            .unwrap();
        let cells: Vec<[&str; 3]> = got
            .iter()
            .map(|r| [r.matric.as_str(), r.ca.as_str(), r.exam.as_str()])
            .collect();
        assert_eq!(
            cells,
            [
                ["SCI/2021/0003", "18", "45"],
                ["SCI/2021/0004", "20", "ABS"],
                ["SCI/2021/0005", "7", "9"]
            ]
        );
        let e = records("SCI/2021/0003, 18, 45\nSCI/2021/0004 18").unwrap_err();
        assert!(e.starts_with("Line 2 (\"SCI/2021/0004 18\")"), "{e}");
        assert!(records("").unwrap().is_empty());
    }
}
