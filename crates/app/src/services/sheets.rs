//! Uploading a score sheet (buffer mode, step 1): check the envelope, keep the raw bytes by
//! SHA-256, and record the sheet with its processing job in one transaction. The request is
//! answered as soon as the intent is durable; the work happens in a worker.
//!
//! Never parse rows or touch score records here: that is the worker's job, and doing it on
//! the request path is exactly what makes portals fall over on results day.

use super::{Principal, ServiceError, ServiceResult, Services};
use eportal_core::model::CourseTerm;
use eportal_core::sheet::{self, Size};
use eportal_core::Role;
use eportal_ports::{NewSheet, SheetMode, SheetReport, SheetStatus, SheetSummary};

/// A file as it arrived.
#[derive(Debug, Clone)]
pub struct Upload {
    pub term: CourseTerm,
    pub filename: Option<String>,
    pub bytes: Vec<u8>,
    /// Whether the sheet is the course's whole list or adds rows to the scores there.
    pub mode: SheetMode,
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
        self.check_sheet_file(&upload.bytes)?;
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
        self.uploads_open(term, &course.code).await?;
        let sha256 = self.ports.blobs.put(&upload.bytes).await?;
        let (sheet, created) = store
            .submit_sheet(
                &NewSheet {
                    term: term.clone(),
                    sha256,
                    size_bytes: upload.bytes.len() as u64,
                    filename: upload.filename.clone(),
                    uploaded_by: who.username.clone(),
                    mode: upload.mode,
                    rows_estimate: Some(sheet::estimate_rows(&upload.bytes)),
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

    /// The checks of a sheet's file before it is kept: not empty, within the size limit, and
    /// a CSV or XLSX by its bytes.
    pub(crate) fn check_sheet_file(&self, bytes: &[u8]) -> ServiceResult<()> {
        let max = self.config.limits.max_upload_bytes;
        if bytes.is_empty() {
            return Err(ServiceError::Invalid(
                "the file is empty: export the score sheet from your spreadsheet as .xlsx or .csv and upload it again".into(),
            ));
        }
        if bytes.len() > max {
            return Err(ServiceError::TooLarge {
                message: format!(
                    "the file is {}, larger than the {} accepted for a score sheet; remove pictures and other worksheets, or save only the scores as .csv",
                    Size(bytes.len() as u64),
                    Size(max as u64)
                ),
            });
        }
        if let Err(what) = sheet::sniff(bytes) {
            return Err(ServiceError::UnsupportedMedia {
                message: format!("the file is {what}, not a CSV or XLSX spreadsheet: open it in Excel or LibreOffice and save it as .xlsx (\"Excel Workbook\") or .csv (\"CSV (Comma delimited)\"), then upload that file"),
            });
        }
        Ok(())
    }

    /// Refuses a change to a course's scores while its result is under review or published.
    async fn uploads_open(
        &self,
        term: &CourseTerm,
        code: &eportal_core::CourseCode,
    ) -> ServiceResult<()> {
        let state = self.ports.store.course_result(term).await?;
        if state.state.accepts_uploads() {
            return Ok(());
        }
        Err(ServiceError::Conflict(format!(
            "the result of {code} for {} {} semester is {}; it must be returned to you before its scores can change",
            term.session,
            term.semester,
            state.state.as_str().replace('_', " ")
        )))
    }

    /// The lecturer confirms that a held sheet may remove the scores it leaves off: it is
    /// queued again and applied. Its uploader, the course's lecturer in that term and the
    /// registry administrator may confirm; only while the result accepts new sheets.
    pub async fn confirm_sheet(
        &self,
        who: &Principal,
        id: i64,
        request_id: Option<&str>,
    ) -> ServiceResult<SheetSummary> {
        let report = self.sheet_report(who, id).await?;
        let sheet = &report.sheet;
        let own = sheet.uploaded_by == who.username;
        if !(own || who.has(Role::Admin) || self.is_allocated(who, &sheet.term).await?) {
            return Err(ServiceError::Forbidden(format!(
                "only the lecturer of {} in the {} semester of {} may confirm its score sheet",
                sheet.term.course_code, sheet.term.semester, sheet.term.session
            )));
        }
        if sheet.status != SheetStatus::Held {
            return Err(ServiceError::Conflict(format!(
                "score sheet {id} is {}; only a sheet held for confirmation can be confirmed",
                sheet.status.as_str()
            )));
        }
        self.uploads_open(&sheet.term, &sheet.term.course_code)
            .await?;
        let confirmed = self.ports.store.confirm_sheet(id, request_id).await?;
        self.metrics.sheets.with_label_values(&["confirmed"]).inc();
        tracing::info!(
            sheet_id = id,
            by = %who.username,
            removed = sheet.changes.as_ref().map_or(0, |c| c.removed),
            "score sheet's removals confirmed"
        );
        Ok(confirmed)
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
