//! `/registry/imports`: one upload form (what the file holds, the file) and the import's
//! report on the answer page — records saved, sign-in accounts written, columns not read,
//! and every refused row with its line and reason — shown once, as the command line prints
//! it. The import itself is `Services::import_as`, which decides who may import.
//!
//! The form's CSRF token is its first field, checked before a byte of the file is read.

use super::super::csrf;
use super::super::errors::PageError;
use super::super::session::{PageSession, Signed};
use super::super::view::{render, Layout};
use crate::config::Limits;
use crate::pages::words::{sentence, size_words};
use crate::services::import::{ImportKind, ImportReport};
use crate::services::{ServiceError, Services};
use askama::Template;
use axum::extract::multipart::{MultipartError, MultipartRejection};
use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use clap::ValueEnum;
use eportal_core::PolicyScope;

/// Room for the multipart boundaries and the short fields around the file.
const MULTIPART_OVERHEAD: usize = 64 * 1024;

pub(super) fn routes(t: Router<Services>, limits: &Limits) -> Router<Services> {
    // The pages' 16 KB form limit is raised here alone, to the size of an upload.
    t.route(
        "/registry/imports",
        get(form).post(import).layer(DefaultBodyLimit::max(
            limits.max_upload_bytes + MULTIPART_OVERHEAD,
        )),
    )
}

struct Kind {
    value: &'static str,
    about: String,
    selected: bool,
}

#[derive(Template)]
#[template(path = "registry_imports.html")]
struct FormPage {
    layout: Layout,
    kinds: Vec<Kind>,
    error: Option<String>,
    max_bytes: String,
}

fn form_page(
    services: &Services,
    s: &PageSession,
    status: StatusCode,
    chosen: Option<ImportKind>,
    error: Option<String>,
) -> Response {
    let kinds = ImportKind::value_variants()
        .iter()
        .map(|k| Kind {
            value: k.as_str(),
            // The kind's own description (its columns), as `eportal import --help` shows it.
            about: k
                .to_possible_value()
                .and_then(|v| v.get_help().map(|h| h.to_string()))
                .unwrap_or_default(),
            selected: chosen == Some(*k),
        })
        .collect();
    let page = FormPage {
        layout: Layout::signed(s, "Import records"),
        kinds,
        error,
        max_bytes: size_words(services.config.limits.max_upload_bytes),
    };
    render(status, &page)
}

async fn form(State(services): State<Services>, Signed(s): Signed) -> Response {
    if let Err(e) = Services::registry_desk(&s.who) {
        return PageError::from(e).into_response();
    }
    form_page(&services, &s, StatusCode::OK, None, None)
}

struct Row {
    line: usize,
    reason: String,
}

#[derive(Template)]
#[template(path = "registry_import_report.html")]
struct ReportPage {
    layout: Layout,
    kind: &'static str,
    filename: String,
    imported: u64,
    accounts: u64,
    ignored_columns: Vec<String>,
    rejected: Vec<Row>,
    /// The regrade a new grading policy started.
    regrade: Option<eportal_ports::Regrade>,
}

fn report_page(s: &PageSession, filename: String, r: ImportReport) -> ReportPage {
    ReportPage {
        layout: Layout::signed(s, "Import report"),
        kind: r.kind.as_str(),
        filename,
        imported: r.imported,
        accounts: r.accounts,
        ignored_columns: r.ignored_columns,
        rejected: r
            .rejected
            .into_iter()
            .map(|p| Row {
                line: p.line,
                reason: sentence(&p.reason),
            })
            .collect(),
        regrade: r.regrade,
    }
}

/// Why the form's body could not be read, as a page.
fn unreadable(e: &MultipartError, max: usize) -> PageError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        too_large(max)
    } else {
        PageError::new(
            StatusCode::BAD_REQUEST,
            "The form could not be read",
            "The upload did not arrive whole. Choose the file again and send the form once more.",
        )
    }
}

fn too_large(max: usize) -> PageError {
    PageError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "The file is too large",
        format!(
            "An import file may be at most {}. Split the file into smaller ones (each keeps the header line) and import them one by one.",
            size_words(max)
        ),
    )
}

async fn import(
    State(services): State<Services>,
    Signed(s): Signed,
    body: Result<Multipart, MultipartRejection>,
) -> Response {
    let Ok(mut mp) = body else {
        return csrf::refused().into_response();
    };
    // The hidden token is the form's first field: check it before reading anything else.
    let token = match mp.next_field().await {
        Ok(Some(f)) if f.name() == Some("csrf") => f.text().await.ok(),
        _ => None,
    };
    if let Err(e) = csrf::check(&services, &s, token.as_deref()) {
        return e.into_response();
    }
    if let Err(e) = Services::registry_desk(&s.who) {
        return PageError::from(e).into_response();
    }
    let max = services.config.limits.max_upload_bytes;
    let mut kind_field = None;
    let mut scope_field = None;
    let mut file = None;
    loop {
        let field = match mp.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => return unreadable(&e, max).into_response(),
        };
        match field.name() {
            Some("kind") => match field.text().await {
                Ok(t) => kind_field = Some(t),
                Err(e) => return unreadable(&e, max).into_response(),
            },
            Some("scope") => match field.text().await {
                Ok(t) => scope_field = Some(t),
                Err(e) => return unreadable(&e, max).into_response(),
            },
            Some("file") => {
                let name = field.file_name().unwrap_or_default().to_string();
                match field.bytes().await {
                    Ok(b) => file = Some((name, b)),
                    Err(e) => return unreadable(&e, max).into_response(),
                }
            }
            // Anything else (a browser's submit button) is not read.
            _ => {}
        }
    }
    // The form again, with what was chosen and what to correct.
    let refuse = |chosen: Option<ImportKind>, msg: String| {
        form_page(
            &services,
            &s,
            StatusCode::UNPROCESSABLE_ENTITY,
            chosen,
            Some(msg),
        )
    };
    let kind = kind_field
        .as_deref()
        .and_then(|k| ImportKind::from_str(k.trim(), true).ok());
    let Some(kind) = kind else {
        return refuse(
            None,
            "Choose what the file holds (students, staff, courses, …) from the list.".into(),
        );
    };
    let (filename, bytes) = match file {
        Some((name, bytes)) if !bytes.is_empty() => (name, bytes),
        Some((name, _)) if !name.is_empty() => {
            return refuse(
                Some(kind),
                format!("The file {name} is empty. Choose the file that holds the records."),
            );
        }
        _ => return refuse(Some(kind), "Choose the file to import.".into()),
    };
    if bytes.len() > max {
        return too_large(max).into_response();
    }
    let scope = match scope_field.as_deref().map(str::trim) {
        None | Some("") => PolicyScope::Default,
        Some(text) => match PolicyScope::parse(text) {
            Ok(scope) => scope,
            Err(e) => return refuse(Some(kind), format!("Whom the policy is for: {e}.")),
        },
    };
    match services
        .import_as(&s.who, kind, bytes.to_vec(), scope)
        .await
    {
        Ok(report) => render(StatusCode::OK, &report_page(&s, filename, report)),
        Err(ServiceError::Invalid(m)) => {
            let msg = format!(
                "{} could not be imported, and nothing of it was saved: {} Correct the file and import it again.",
                if filename.is_empty() { "The file".to_string() } else { filename },
                sentence(&m)
            );
            form_page(
                &services,
                &s,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(kind),
                Some(msg),
            )
        }
        Err(e) => PageError::from(e).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_described_for_the_form() {
        for k in ImportKind::value_variants() {
            let help = k
                .to_possible_value()
                .and_then(|v| v.get_help().map(|h| h.to_string()));
            assert!(help.is_some_and(|h| !h.is_empty()), "{k}");
        }
    }
}
