//! Issued documents (transcripts and result slips): what each one said when it was issued,
//! kept under its verification code so anyone holding the code can check it, and its
//! revocation by the registry. The store only keeps and finds them; whether a document is
//! still current (its results unchanged) is decided by the application, which rebuilds the
//! content and compares the hash. It must never generate codes or judge content.

use crate::error::PortResult;
use async_trait::async_trait;
use eportal_core::{AcademicSession, MatricNo, Semester};
use serde::{Deserialize, Serialize};

/// What kind of document a code was issued for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum DocumentKind {
    /// Every published session and semester.
    Transcript,
    /// One semester's results.
    Slip {
        session: AcademicSession,
        semester: Semester,
    },
}

impl DocumentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DocumentKind::Transcript => "transcript",
            DocumentKind::Slip { .. } => "slip",
        }
    }
}

/// Who withdrew a document, when, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revocation {
    pub at_ms: i64,
    pub by: String,
    pub reason: String,
}

/// One issued document, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedDocument {
    /// The verification code, normalised (upper case, no dashes).
    pub code: String,
    pub kind: DocumentKind,
    pub matric_no: MatricNo,
    pub issued_by: String,
    pub issued_at_ms: i64,
    /// What the document says, as canonical JSON.
    pub content: String,
    /// SHA-256 of `content`, lower-case hex.
    pub content_sha256: String,
    pub revoked: Option<Revocation>,
}

#[async_trait]
pub trait Documents: Send + Sync {
    /// Records a newly issued document; a code already recorded is a
    /// [`crate::PortError::Conflict`] (codes are random, so this means a collision).
    async fn record_document(&self, doc: &IssuedDocument) -> PortResult<()>;
    /// The document with this (normalised) code.
    async fn document(&self, code: &str) -> PortResult<Option<IssuedDocument>>;
    /// Revokes a document and returns it as it now stands; revoking a revoked one keeps the
    /// first revocation. [`crate::PortError::NotFound`] when no document has the code.
    async fn revoke_document(
        &self,
        code: &str,
        revocation: &Revocation,
    ) -> PortResult<IssuedDocument>;
}
