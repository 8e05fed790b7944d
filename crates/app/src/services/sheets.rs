//! Uploading a score sheet (buffer mode, step 1): check the envelope, keep the raw bytes by
//! SHA-256, and record the sheet with its processing job in one transaction. The request is
//! answered as soon as the intent is durable; the work happens in a worker.
//!
//! Never parse rows or touch score records here: that is the worker's job, and doing it on
//! the request path is exactly what makes portals fall over on results day.

use super::{Principal, ServiceError, ServiceResult, Services};
use eportal_core::model::CourseTerm;
use eportal_core::Role;
use eportal_ports::{NewSheet, SheetReport, SheetSummary};

/// A file as it arrived.
#[derive(Debug, Clone)]
pub struct Upload {
    pub term: CourseTerm,
    pub filename: Option<String>,
    pub bytes: Vec<u8>,
}

/// Whether the bytes can be a CSV or XLSX file at all (the worker reads them properly).
fn looks_like_sheet(bytes: &[u8]) -> bool {
    if bytes.starts_with(b"PK\x03\x04") {
        return true;
    }
    let head = &bytes[..bytes.len().min(4096)];
    // Text: valid UTF-8 (a multi-byte character may be cut at the end of the sample) with
    // no NUL bytes.
    let valid = match std::str::from_utf8(head) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none(),
    };
    valid && !head.contains(&0)
}

impl Services {
    /// Checks that `who` may upload for the course term, then records the upload.
    /// Returns the sheet and whether it is new (false: the same file was uploaded before).
    pub async fn upload_sheet(
        &self,
        who: &Principal,
        upload: Upload,
        request_id: Option<&str>,
    ) -> ServiceResult<(SheetSummary, bool)> {
        let store = &self.ports.store;
        let max = self.config.limits.max_upload_bytes;
        if upload.bytes.is_empty() {
            return Err(ServiceError::Invalid(
                "the file is empty: export the score sheet from your spreadsheet as .xlsx or .csv and upload it again".into(),
            ));
        }
        if upload.bytes.len() > max {
            return Err(ServiceError::TooLarge {
                message: format!(
                    "the file is {} bytes; the largest score sheet accepted is {} bytes",
                    upload.bytes.len(),
                    max
                ),
            });
        }
        if !looks_like_sheet(&upload.bytes) {
            return Err(ServiceError::UnsupportedMedia {
                message: "this file is not a CSV or XLSX spreadsheet: save it from Excel or LibreOffice as .xlsx or .csv".into(),
            });
        }
        let term = &upload.term;
        let course = store.course(&term.course_code).await?.ok_or_else(|| {
            ServiceError::NotFound(format!("course {} does not exist", term.course_code))
        })?;
        // A course is taught in a term when someone is allocated to it then: a sheet for any
        // other term (a wrong session or semester) would be scores nobody can own.
        if store.allocations(term).await?.is_empty() {
            return Err(ServiceError::Invalid(format!(
                "{} is not taught in the {} semester of {} (no lecturer is allocated to it then); check the session and semester of the upload",
                course.code, term.semester, term.session
            )));
        }
        if !(who.has(Role::Admin) || self.is_allocated(who, term).await?) {
            return Err(ServiceError::Forbidden(format!(
                "you are not allocated to {} in the {} semester of {}; only its lecturer may upload its score sheet",
                course.code, term.semester, term.session
            )));
        }
        let state = store.course_result(term).await?;
        if !state.state.accepts_uploads() {
            return Err(ServiceError::Conflict(format!(
                "the result of {} for {} {} semester is {}; it must be returned to you before a new sheet can be uploaded",
                course.code,
                term.session,
                term.semester,
                state.state.as_str().replace('_', " ")
            )));
        }
        let sha256 = self.ports.blobs.put(&upload.bytes).await?;
        let (sheet, created) = store
            .submit_sheet(
                &NewSheet {
                    term: term.clone(),
                    sha256,
                    size_bytes: upload.bytes.len() as u64,
                    filename: upload.filename.clone(),
                    uploaded_by: who.username.clone(),
                },
                request_id,
            )
            .await?;
        let event = if created { "uploaded" } else { "duplicate" };
        self.metrics.sheets.with_label_values(&[event]).inc();
        tracing::info!(
            sheet_id = sheet.id,
            course = %term.course_code,
            session = %term.session,
            semester = %term.semester,
            created,
            "score sheet recorded"
        );
        Ok((sheet, created))
    }

    /// A sheet's status, counts and row errors; its uploader, the course's lecturer and the
    /// reviewers whose department or faculty the course belongs to may read it.
    pub async fn sheet_report(&self, who: &Principal, id: i64) -> ServiceResult<SheetReport> {
        let report =
            self.ports.store.sheet(id).await?.ok_or_else(|| {
                ServiceError::NotFound(format!("score sheet {id} does not exist"))
            })?;
        let own = report.sheet.uploaded_by == who.username;
        if !(own || self.reviews_term(who, &report.sheet.term).await?) {
            let allocated = self.ports.store.allocations(&report.sheet.term).await?;
            if !allocated.contains(&who.username) {
                return Err(ServiceError::NotFound(format!(
                    "score sheet {id} does not exist"
                )));
            }
        }
        Ok(report)
    }
}
