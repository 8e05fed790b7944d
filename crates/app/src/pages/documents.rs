//! Transcripts and result slips in the browser: the downloads linked from the results page
//! and the registry's view of a student (the same `Services::issue_*` calls as the API, with
//! the page session), and the verification page `/verify/{code}`, which anyone may open
//! without signing in: it says whether the document is genuine, superseded or revoked, and
//! shows what it said. The registry administrator sees a form there to revoke it.
//!
//! An unknown code and a string that cannot be a code get the same 404 page, so the page
//! helps no one guess codes (and every page is under the per-client rate limit).

use super::csrf;
use super::errors::PageError;
use super::semester_rows::Row;
use super::session::Signed;
use super::view::{render, Layout};
use super::words::utc;
use crate::services::documents::content::DocumentContent;
use crate::services::documents::{Standing, Verification};
use crate::services::Services;
use askama::Template;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use eportal_core::Role;
use serde::Deserialize;

pub(super) fn routes(t: Router<Services>) -> Router<Services> {
    t.route("/students/{matric_no}/transcript.pdf", get(transcript))
        .route(
            "/students/{matric_no}/results/{session}/{semester}/slip.pdf",
            get(slip),
        )
        .route("/verify", get(lookup))
        .route("/verify/{code}", get(verify))
        .route("/verify/{code}/revoke", post(revoke))
}

fn refused(e: crate::http::error::ApiError) -> Response {
    PageError::new(
        StatusCode::BAD_REQUEST,
        "This address is not right",
        super::words::sentence(&e.detail),
    )
    .into_response()
}

async fn transcript(
    State(services): State<Services>,
    Signed(s): Signed,
    Path(matric): Path<String>,
) -> Response {
    let matric = match crate::http::documents::slip_path(&matric, None, None) {
        Ok((m, _)) => m,
        Err(e) => return refused(e),
    };
    match services.issue_transcript(&s.who, &matric).await {
        Ok(doc) => crate::http::documents::pdf_response(doc),
        Err(e) => PageError::from(e).into_response(),
    }
}

async fn slip(
    State(services): State<Services>,
    Signed(s): Signed,
    Path((matric, session, semester)): Path<(String, String, String)>,
) -> Response {
    let parsed = crate::http::documents::slip_path(&matric, Some(&session), Some(&semester));
    let (matric, (session, semester)) = match parsed {
        Ok((m, Some(t))) => (m, t),
        Ok((_, None)) => return PageError::not_found().into_response(),
        Err(e) => return refused(e),
    };
    match services
        .issue_slip(&s.who, &matric, session, semester)
        .await
    {
        Ok(doc) => crate::http::documents::pdf_response(doc),
        Err(e) => PageError::from(e).into_response(),
    }
}

#[derive(Deserialize)]
struct Lookup {
    code: Option<String>,
}

#[derive(Template)]
#[template(path = "verify_lookup.html")]
struct LookupPage {
    layout: Layout,
}

fn layout_for(who: &Option<Signed>, title: &str) -> Layout {
    match who {
        Some(Signed(s)) => Layout::signed(s, title),
        None => Layout::anonymous(title),
    }
}

/// `/verify`: a form to type a code in; `?code=` goes to that code's page.
async fn lookup(who: Option<Signed>, Query(q): Query<Lookup>) -> Response {
    match q.code.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
        Some(code) => {
            let code: String = code
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
                .take(64)
                .collect();
            Redirect::to(&format!("/verify/{code}")).into_response()
        }
        None => render(
            StatusCode::OK,
            &LookupPage {
                layout: layout_for(&who, "Check a document"),
            },
        ),
    }
}

struct Term {
    heading: String,
    rows: Vec<Row>,
    units: u32,
    gpa: String,
    cgpa: String,
}

#[derive(Template)]
#[template(path = "verify.html")]
struct VerifyPage {
    layout: Layout,
    code: String,
    /// `genuine`, `superseded` or `revoked`.
    status: &'static str,
    /// The verdict in a sentence.
    verdict: String,
    what: String,
    issued_at: String,
    doc: DocumentContent,
    terms: Vec<Term>,
    class_of_degree: String,
    /// The revocation form (the registry administrator, on a document not yet revoked).
    may_revoke: bool,
    error: Option<String>,
}

fn verify_page(
    layout: Layout,
    v: Verification,
    may_revoke: bool,
    error: Option<String>,
) -> VerifyPage {
    let issued_at = utc(v.issued_at_ms);
    let what = match v.kind {
        eportal_ports::DocumentKind::Transcript => "transcript".to_string(),
        eportal_ports::DocumentKind::Slip { session, semester } => {
            format!("result slip of the {session} session, {semester} semester")
        }
    };
    let (status, verdict) = match &v.standing {
        Standing::Genuine => (
            "genuine",
            format!(
                "This document is genuine: issued on {issued_at} to {} ({}), and the results it shows are still the student's current published results.",
                v.document.name, v.matric_no
            ),
        ),
        Standing::Superseded { changed_at_ms } => (
            "superseded",
            format!(
                "Superseded: the results this document shows have since changed{}; ask the student for a new one. Below is what it said when it was issued on {issued_at}.",
                changed_at_ms.map(|t| format!(" (on {})", utc(t))).unwrap_or_default()
            ),
        ),
        Standing::Revoked {
            revoked_at_ms,
            revoked_by,
            reason,
        } => (
            "revoked",
            format!(
                "Revoked on {} by {revoked_by}: {reason}. This document no longer stands. Below is what it said when it was issued on {issued_at}.",
                utc(*revoked_at_ms)
            ),
        ),
    };
    let terms = v
        .document
        .semesters
        .iter()
        .map(|t| Term {
            heading: format!("{} session, {} semester", t.session, t.semester),
            rows: t.courses.iter().map(Row::of_content).collect(),
            units: t.units,
            gpa: t.gpa.clone(),
            cgpa: t.cgpa.clone(),
        })
        .collect();
    let class_of_degree = v
        .document
        .summary
        .as_ref()
        .and_then(|s| s.class_of_degree.clone())
        .unwrap_or_else(|| "Not yet determined".into());
    VerifyPage {
        layout,
        code: v.code,
        status,
        verdict,
        what,
        issued_at,
        terms,
        class_of_degree,
        may_revoke: may_revoke && status != "revoked",
        doc: v.document,
        error,
    }
}

fn not_found() -> Response {
    PageError::new(
        StatusCode::NOT_FOUND,
        "No document has this code",
        "Check the code as it is printed on the document (letters and digits, in groups of four). If it is right, the document was not issued by this portal.",
    )
    .into_response()
}

async fn verify(
    State(services): State<Services>,
    who: Option<Signed>,
    Path(code): Path<String>,
) -> Response {
    match services.verify_document(&code).await {
        Ok(v) => {
            let admin = who.as_ref().is_some_and(|Signed(s)| s.who.has(Role::Admin));
            let layout = layout_for(&who, "Check a document");
            render(StatusCode::OK, &verify_page(layout, v, admin, None))
        }
        Err(crate::services::ServiceError::NotFound(_)) => not_found(),
        Err(e) => PageError::from(e).into_response(),
    }
}

#[derive(Deserialize)]
struct RevokeForm {
    #[serde(default)]
    reason: String,
    csrf: Option<String>,
}

async fn revoke(
    State(services): State<Services>,
    Signed(s): Signed,
    Path(code): Path<String>,
    body: Result<Form<RevokeForm>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = body else {
        return csrf::refused().into_response();
    };
    if let Err(e) = csrf::check(&services, &s, form.csrf.as_deref()) {
        return e.into_response();
    }
    match services.revoke_document(&s.who, &code, &form.reason).await {
        Ok(v) => Redirect::to(&format!("/verify/{}", v.code)).into_response(),
        Err(crate::services::ServiceError::Invalid(m)) => {
            match services.verify_document(&code).await {
                Ok(v) => render(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    &verify_page(
                        Layout::signed(&s, "Check a document"),
                        v,
                        true,
                        Some(super::words::sentence(&m)),
                    ),
                ),
                Err(e) => PageError::from(e).into_response(),
            }
        }
        Err(crate::services::ServiceError::NotFound(_)) => not_found(),
        Err(e) => PageError::from(e).into_response(),
    }
}
