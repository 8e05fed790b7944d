//! Transcripts and semester result slips that anyone can verify. Issuing one reads the
//! student's published results through the same service call as
//! `GET /api/v1/students/{m}/results` (so whoever may read those results may have them as a
//! document, and the PDF cannot disagree with the API), builds what the document says
//! ([`content`]), records it under a new verification code ([`code`]) with the SHA-256 of its
//! canonical JSON, and lays it out as a PDF ([`pdf`]) on the blocking pool, a few at a time,
//! so a burst of downloads cannot take the threads that serve results.
//!
//! Verifying a code needs no sign-in: the document is *revoked* when the registry withdrew
//! it, *superseded* when the same document built from the student's current published
//! results would say something else (an amendment, a re-published sheet), and *genuine*
//! otherwise. Each download issues a new code, so a superseded document is replaced by asking
//! for a new one. This module must never print a result the results service would not serve.

pub mod code;
pub mod content;
mod font;
pub mod pdf;

use super::{Principal, ServiceError, ServiceResult, Services};
use content::DocumentContent;
use eportal_core::{AcademicSession, MatricNo, Role, Semester};
use eportal_ports::documents::{DocumentKind, IssuedDocument, Revocation};
use serde::Serialize;
use std::sync::Arc;
use tokio::sync::Semaphore;

/// PDFs laid out at once in one process; the rest wait their turn (bounded by the request
/// timeout).
pub const CONCURRENT_RENDERS: usize = 2;
/// The longest revocation reason kept.
pub const MAX_REASON_CHARS: usize = 500;

/// The render slots of one process.
pub struct Renders(Arc<Semaphore>);

impl Default for Renders {
    fn default() -> Self {
        Renders(Arc::new(Semaphore::new(CONCURRENT_RENDERS)))
    }
}

/// An issued document, ready to send.
pub struct IssuedPdf {
    pub code: String,
    pub filename: String,
    pub bytes: Vec<u8>,
}

/// Where a document stands when its code is checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum Standing {
    /// Issued by the portal and still what the records say.
    Genuine,
    /// The results it shows have changed since; `changed_at_ms` is the latest publication
    /// among the student's current results, when known.
    Superseded { changed_at_ms: Option<i64> },
    /// Withdrawn by the registry.
    Revoked {
        revoked_at_ms: i64,
        revoked_by: String,
        reason: String,
    },
}

/// The answer to a verification: the document's standing and what it said.
#[derive(Debug, Clone, Serialize)]
pub struct Verification {
    pub code: String,
    #[serde(flatten)]
    pub standing: Standing,
    #[serde(flatten)]
    pub kind: DocumentKind,
    pub matric_no: String,
    pub issued_at_ms: i64,
    pub document: DocumentContent,
}

impl Services {
    /// Issues `matric`'s transcript (every published semester) to `who`.
    pub async fn issue_transcript(
        &self,
        who: &Principal,
        matric: &MatricNo,
    ) -> ServiceResult<IssuedPdf> {
        self.issue(who, matric, DocumentKind::Transcript).await
    }

    /// Issues `matric`'s result slip of one semester to `who`.
    pub async fn issue_slip(
        &self,
        who: &Principal,
        matric: &MatricNo,
        session: AcademicSession,
        semester: Semester,
    ) -> ServiceResult<IssuedPdf> {
        self.issue(who, matric, DocumentKind::Slip { session, semester })
            .await
    }

    async fn issue(
        &self,
        who: &Principal,
        matric: &MatricNo,
        kind: DocumentKind,
    ) -> ServiceResult<IssuedPdf> {
        // The access rule and the results are the results service's.
        let (results, stale) = self.student_results(who, matric).await?;
        if stale {
            return Err(ServiceError::Unavailable(
                "the records cannot be reached just now, and a document is issued only from current results; try again in a few minutes".into(),
            ));
        }
        let institution = self.institution_name().await?;
        let content = match kind {
            DocumentKind::Transcript => {
                if results.semesters.is_empty() {
                    return Err(ServiceError::Conflict(format!(
                        "no results have been published for {matric} yet, so there is no transcript to issue"
                    )));
                }
                DocumentContent::transcript(&institution, &results)
            }
            DocumentKind::Slip { session, semester } => {
                DocumentContent::slip(&institution, &results, session, semester).ok_or_else(
                    || {
                        // As for a transcript: the slip exists once that semester is published.
                        ServiceError::Conflict(format!(
                            "no results of {matric} are published for the {session} session, {semester} semester yet, so there is no result slip to issue"
                        ))
                    },
                )?
            }
        };
        let json = content.canonical_json();
        let doc = IssuedDocument {
            code: code::generate(),
            kind,
            matric_no: matric.clone(),
            issued_by: who.username.clone(),
            issued_at_ms: eportal_ports::now_ms(),
            content_sha256: content::sha256_hex(&json),
            content: json,
            revoked: None,
        };
        let issue = pdf::Issue {
            code: code::grouped(&doc.code),
            url: self.verify_url(&doc.code),
            issued_at: crate::pages::words::utc(doc.issued_at_ms),
        };
        let bytes = self.render(content, issue).await?;
        self.ports.store.record_document(&doc).await?;
        let stem = matric.as_str().replace('/', "-");
        let filename = match kind {
            DocumentKind::Transcript => format!("transcript-{stem}.pdf"),
            DocumentKind::Slip { session, semester } => format!(
                "result-slip-{stem}-{}-{}-{semester}.pdf",
                session.start_year(),
                session.start_year() + 1
            ),
        };
        Ok(IssuedPdf {
            code: doc.code,
            filename,
            bytes,
        })
    }

    /// Lays a document out on the blocking pool, at most [`CONCURRENT_RENDERS`] at a time.
    async fn render(&self, content: DocumentContent, issue: pdf::Issue) -> ServiceResult<Vec<u8>> {
        let _slot = self
            .renders
            .0
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| ServiceError::Internal(e.into()))?;
        tokio::task::spawn_blocking(move || pdf::render(&content, &issue))
            .await
            .map_err(|e| ServiceError::Internal(anyhow::Error::new(e).context("PDF layout")))
    }

    async fn institution_name(&self) -> ServiceResult<String> {
        Ok(self
            .ports
            .store
            .institution()
            .await?
            .map(|(i, _)| i.name)
            .unwrap_or_default())
    }

    /// The address at which anyone checks a code.
    pub fn verify_url(&self, code: &str) -> String {
        let base = self.config.links.base_url.trim().trim_end_matches('/');
        let base = if base.is_empty() {
            format!("http://{}", self.config.listen)
        } else {
            base.to_string()
        };
        format!("{base}/verify/{}", code::grouped(code))
    }

    /// Checks a code, as typed (no sign-in needed). An unknown code, or one that cannot be a
    /// code, is the same `NotFound`.
    pub async fn verify_document(&self, typed: &str) -> ServiceResult<Verification> {
        let unknown = || ServiceError::NotFound("no document has this code".into());
        let code = code::normalise(typed).ok_or_else(unknown)?;
        let doc = self
            .ports
            .store
            .document(&code)
            .await?
            .ok_or_else(unknown)?;
        let said: DocumentContent = serde_json::from_str(&doc.content).map_err(|e| {
            ServiceError::Internal(anyhow::Error::new(e).context("a stored document's content"))
        })?;
        let standing = match &doc.revoked {
            Some(r) => Standing::Revoked {
                revoked_at_ms: r.at_ms,
                revoked_by: r.by.clone(),
                reason: r.reason.clone(),
            },
            None => self.current_standing(&doc, &said).await?,
        };
        Ok(Verification {
            code: code::grouped(&doc.code),
            standing,
            kind: doc.kind,
            matric_no: doc.matric_no.to_string(),
            issued_at_ms: doc.issued_at_ms,
            document: said,
        })
    }

    /// Genuine when the same document built from the current published results (read from
    /// the store, not a cached copy) hashes the same; superseded otherwise.
    async fn current_standing(
        &self,
        doc: &IssuedDocument,
        said: &DocumentContent,
    ) -> ServiceResult<Standing> {
        let results = self.load_results(&doc.matric_no).await?;
        let now = match doc.kind {
            DocumentKind::Transcript => {
                Some(DocumentContent::transcript(&said.institution, &results))
            }
            DocumentKind::Slip { session, semester } => {
                DocumentContent::slip(&said.institution, &results, session, semester)
            }
        };
        let same = now
            .map(|c| content::sha256_hex(&c.canonical_json()) == doc.content_sha256)
            .unwrap_or(false);
        if same {
            return Ok(Standing::Genuine);
        }
        Ok(Standing::Superseded {
            changed_at_ms: self.latest_publication(&doc.matric_no).await,
        })
    }

    /// When the latest of the student's currently published course results moved (its
    /// publication), if the store says.
    async fn latest_publication(&self, matric: &MatricNo) -> Option<i64> {
        let store = &self.ports.store;
        let records = store.student_records(matric).await.ok()?;
        let mut terms: Vec<_> = records
            .into_iter()
            .map(|r| eportal_core::model::CourseTerm {
                course_code: r.course_code,
                session: r.session,
                semester: r.semester,
            })
            .collect();
        terms.dedup();
        let mut latest = None;
        for t in &terms {
            if let Ok(s) = store.course_result(t).await {
                if s.state == eportal_core::workflow::WorkflowState::Published {
                    latest = latest.max(Some(s.updated_at_ms));
                }
            }
        }
        latest
    }

    /// Withdraws a document (the registry administrator only); revoking it again keeps the
    /// first revocation.
    pub async fn revoke_document(
        &self,
        who: &Principal,
        typed: &str,
        reason: &str,
    ) -> ServiceResult<Verification> {
        if !who.has(Role::Admin) {
            return Err(ServiceError::Forbidden(
                "only the registry administrator may revoke a document".into(),
            ));
        }
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(ServiceError::Invalid(
                "reason: say why the document is revoked (the verification page shows it)".into(),
            ));
        }
        if reason.chars().count() > MAX_REASON_CHARS {
            return Err(ServiceError::Invalid(format!(
                "reason: at most {MAX_REASON_CHARS} characters"
            )));
        }
        let code = code::normalise(typed)
            .ok_or_else(|| ServiceError::NotFound("no document has this code".into()))?;
        let revocation = Revocation {
            at_ms: eportal_ports::now_ms(),
            by: who.username.clone(),
            reason: reason.to_string(),
        };
        self.ports
            .store
            .revoke_document(&code, &revocation)
            .await
            .map_err(|e| match e {
                eportal_ports::PortError::NotFound(_) => {
                    ServiceError::NotFound("no document has this code".into())
                }
                e => e.into(),
            })?;
        self.verify_document(&code).await
    }
}
