//! Transcripts and result slips over the API: a student's transcript and one semester's
//! result slip as PDF (a new verification code each time), the verification of a code with
//! no sign-in, and the registry's revocation. Who may have whose documents, and what a
//! document says, are the services' to decide.
//!
//! A PDF goes out as an attachment kept by no cache (`private, no-store`): it is personal
//! data, and each download is a new document.

use super::error::{ApiError, ApiResult, FieldError};
use super::extract::{ApiJson, ApiPath, Auth};
use super::RouteTable;
use crate::services::documents::{IssuedPdf, Verification};
use crate::services::Services;
use axum::extract::State;
use axum::http::{header, HeaderName, HeaderValue, Method};
use axum::response::{IntoResponse, Response};
use axum::Json;
use eportal_core::{AcademicSession, MatricNo, Semester};
use serde::Deserialize;

/// Ours: the verification code of the document in the body.
pub static X_EPORTAL_DOCUMENT_CODE: HeaderName = HeaderName::from_static("x-eportal-document-code");

pub(super) fn routes(t: RouteTable) -> RouteTable {
    t.route(
        Method::GET,
        "/api/v1/students/{matric_no}/transcript.pdf",
        transcript,
    )
    .route(
        Method::GET,
        "/api/v1/students/{matric_no}/results/{session}/{semester}/slip.pdf",
        slip,
    )
    .route(Method::GET, "/api/v1/verify/{code}", verify)
    .route(Method::POST, "/api/v1/documents/{code}/revoke", revoke)
}

/// A matric number, session and semester from a path, every bad one named.
pub fn slip_path(
    matric: &str,
    session: Option<&str>,
    semester: Option<&str>,
) -> Result<(MatricNo, Option<(AcademicSession, Semester)>), ApiError> {
    let mut errors = Vec::new();
    let m = MatricNo::parse(matric)
        .map_err(|e| errors.push(FieldError::new("matric_no", e.0)))
        .ok();
    let term = match (session, semester) {
        (Some(s), Some(t)) => {
            let s = AcademicSession::parse(s)
                .map_err(|e| errors.push(FieldError::new("session", e.0)))
                .ok();
            let t = Semester::parse(t)
                .map_err(|e| errors.push(FieldError::new("semester", e.0)))
                .ok();
            s.zip(t)
        }
        _ => None,
    };
    match m {
        Some(m) if errors.is_empty() => Ok((m, term)),
        _ => Err(ApiError::invalid_params(errors)),
    }
}

/// The PDF answer of an issued document.
pub fn pdf_response(doc: IssuedPdf) -> Response {
    let disposition = format!("attachment; filename=\"{}\"", doc.filename);
    let mut res = doc.bytes.into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/pdf"),
    );
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    if let Ok(v) = HeaderValue::from_str(&doc.code) {
        h.insert(X_EPORTAL_DOCUMENT_CODE.clone(), v);
    }
    res
}

async fn transcript(
    State(s): State<Services>,
    Auth(who): Auth,
    ApiPath(matric): ApiPath<String>,
) -> ApiResult<Response> {
    let (matric, _) = slip_path(&matric, None, None)?;
    Ok(pdf_response(s.issue_transcript(&who, &matric).await?))
}

async fn slip(
    State(s): State<Services>,
    Auth(who): Auth,
    ApiPath((matric, session, semester)): ApiPath<(String, String, String)>,
) -> ApiResult<Response> {
    let (matric, term) = slip_path(&matric, Some(&session), Some(&semester))?;
    let (session, semester) = term.expect("a session and a semester were given and parsed");
    Ok(pdf_response(
        s.issue_slip(&who, &matric, session, semester).await?,
    ))
}

async fn verify(
    State(s): State<Services>,
    ApiPath(code): ApiPath<String>,
) -> ApiResult<Json<Verification>> {
    Ok(Json(s.verify_document(&code).await?))
}

#[derive(Deserialize)]
struct RevokeRequest {
    #[serde(default)]
    reason: String,
}

async fn revoke(
    State(s): State<Services>,
    Auth(who): Auth,
    ApiPath(code): ApiPath<String>,
    ApiJson(body): ApiJson<RevokeRequest>,
) -> ApiResult<Json<Verification>> {
    Ok(Json(s.revoke_document(&who, &code, &body.reason).await?))
}
