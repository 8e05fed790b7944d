//! What a lecturer's pages read: `GET /api/v1/me/courses` (my courses by term, with the state
//! of each result and its latest sheet), and for one course in one term
//! `GET /api/v1/course-results/{course}/{session}/{semester}/class-list`, `…/template`
//! (`?format=csv|xlsx`, a download) and `…/sheets` (the history of its score sheets).
//!
//! Who may read what is the services' business ([`crate::services::teaching`]); this module
//! only parses the address and the query and shapes the answers.

use super::error::{ApiError, ApiResult, FieldError};
use super::extract::{course_term, term_path, ApiPath, Auth, QueryParams};
use super::RouteTable;
use crate::services::sheet_template;
use crate::services::teaching::{ClassList, SheetEntry, TaughtCourse};
use crate::services::Services;
use axum::extract::State;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use eportal_core::model::CourseTerm;
use eportal_core::{AcademicSession, Semester};
use serde::Serialize;

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

pub(super) fn routes(t: RouteTable) -> RouteTable {
    t.route(Method::GET, "/api/v1/me/courses", my_courses)
        .route(
            Method::GET,
            "/api/v1/course-results/{course}/{session}/{semester}/class-list",
            class_list,
        )
        .route(
            Method::GET,
            "/api/v1/course-results/{course}/{session}/{semester}/template",
            template,
        )
        .route(
            Method::GET,
            "/api/v1/course-results/{course}/{session}/{semester}/sheets",
            sheets,
        )
}

type TermPath = ApiPath<(String, String, String)>;

fn term(ApiPath((c, s, m)): TermPath) -> ApiResult<CourseTerm> {
    course_term(Some(&c), Some(&s), Some(&m))
}

fn result_url(term: &CourseTerm) -> String {
    format!("/api/v1/course-results/{}", term_path(term))
}

#[derive(Serialize)]
struct DepartmentView {
    code: String,
    name: Option<String>,
}

#[derive(Serialize)]
struct LatestSheet {
    id: i64,
    status: &'static str,
    status_url: String,
}

#[derive(Serialize)]
struct MyCourse {
    course: String,
    title: String,
    units: u8,
    level: u16,
    department: DepartmentView,
    session: String,
    semester: String,
    /// The workflow state of the course result.
    state: &'static str,
    latest_sheet: Option<LatestSheet>,
    url: String,
    class_list_url: String,
    template_url: String,
    sheets_url: String,
}

impl From<TaughtCourse> for MyCourse {
    fn from(c: TaughtCourse) -> Self {
        let url = result_url(&c.term);
        MyCourse {
            course: c.term.course_code.to_string(),
            title: c.title,
            units: c.units,
            level: c.level,
            department: DepartmentView {
                code: c.department_code,
                name: c.department_name,
            },
            session: c.term.session.to_string(),
            semester: c.term.semester.to_string(),
            state: c.state.as_str(),
            latest_sheet: c.latest_sheet.map(|(id, status)| LatestSheet {
                id,
                status: status.as_str(),
                status_url: format!("/api/v1/score-sheets/{id}"),
            }),
            class_list_url: format!("{url}/class-list"),
            template_url: format!("{url}/template?format=xlsx"),
            sheets_url: format!("{url}/sheets"),
            url,
        }
    }
}

#[derive(Serialize)]
struct MyCourses {
    courses: Vec<MyCourse>,
}

async fn my_courses(
    State(s): State<Services>,
    Auth(who): Auth,
    q: QueryParams,
) -> ApiResult<Json<MyCourses>> {
    let mut errors = Vec::new();
    let session = q.get("session").and_then(|v| {
        AcademicSession::parse(v)
            .map_err(|e| errors.push(FieldError::new("session", e.0)))
            .ok()
    });
    let semester = q.get("semester").and_then(|v| {
        Semester::parse(v)
            .map_err(|e| errors.push(FieldError::new("semester", e.0)))
            .ok()
    });
    if !errors.is_empty() {
        return Err(ApiError::invalid_params(errors));
    }
    let courses = s.my_courses(&who, session, semester).await?;
    Ok(Json(MyCourses {
        courses: courses.into_iter().map(MyCourse::from).collect(),
    }))
}

#[derive(Serialize)]
struct ClassMemberView {
    matric_no: String,
    /// "Surname, First name", as class lists print it.
    name: String,
    surname: String,
    first_name: String,
    level: u16,
    programme: String,
}

#[derive(Serialize)]
struct ClassListView {
    course: String,
    title: String,
    session: String,
    semester: String,
    count: usize,
    students: Vec<ClassMemberView>,
}

impl From<ClassList> for ClassListView {
    fn from(c: ClassList) -> Self {
        ClassListView {
            course: c.course.code.to_string(),
            title: c.course.title,
            session: c.term.session.to_string(),
            semester: c.term.semester.to_string(),
            count: c.students.len(),
            students: c
                .students
                .into_iter()
                .map(|m| ClassMemberView {
                    name: format!("{}, {}", m.surname, m.first_name),
                    matric_no: m.matric_no,
                    surname: m.surname,
                    first_name: m.first_name,
                    level: m.level,
                    programme: m.programme_code,
                })
                .collect(),
        }
    }
}

async fn class_list(
    State(s): State<Services>,
    Auth(who): Auth,
    p: TermPath,
) -> ApiResult<Json<ClassListView>> {
    let term = term(p)?;
    Ok(Json(s.class_list(&who, &term).await?.into()))
}

/// `?format=csv` (the default) or `?format=xlsx`: the class as a score sheet to fill in.
async fn template(
    State(s): State<Services>,
    Auth(who): Auth,
    p: TermPath,
    q: QueryParams,
) -> ApiResult<Response> {
    let xlsx = match q.get("format").map(str::to_ascii_lowercase).as_deref() {
        None | Some("csv") => false,
        Some("xlsx") => true,
        Some(other) => {
            return Err(ApiError::invalid_params(vec![FieldError::new(
                "format",
                format!("'{other}' is not a template format: ask for csv or xlsx"),
            )]))
        }
    };
    let term = term(p)?;
    let data = s.sheet_template(&who, &term).await?;
    let stem = sheet_template::file_stem(&term);
    let (bytes, content_type, name) = if xlsx {
        // Compressing the workbook is CPU work: keep it off the request threads.
        let bytes = tokio::task::spawn_blocking(move || sheet_template::xlsx(&data))
            .await
            .map_err(|e| ApiError::internal(&anyhow::anyhow!("template task failed: {e}")))?
            .map_err(|e| ApiError::internal(&anyhow::anyhow!("writing the workbook: {e}")))?;
        (bytes, XLSX, format!("{stem}.xlsx"))
    } else {
        (
            sheet_template::csv(&data),
            "text/csv; charset=utf-8",
            format!("{stem}.csv"),
        )
    };
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
        .map_err(|e| ApiError::internal(&anyhow::anyhow!("file name {name:?}: {e}")))?;
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CONTENT_DISPOSITION, disposition),
            // Names of students: not for shared caches.
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, no-store"),
            ),
        ],
        bytes,
    )
        .into_response())
}

#[derive(Serialize)]
struct SheetLine {
    id: i64,
    status: &'static str,
    filename: Option<String>,
    uploaded_at_ms: i64,
    uploaded_by: String,
    uploaded_by_name: Option<String>,
    processed_at_ms: Option<i64>,
    rows_total: u32,
    rows_accepted: u32,
    rows_rejected: u32,
    message: Option<String>,
    superseded_by: Option<i64>,
    status_url: String,
}

impl From<SheetEntry> for SheetLine {
    fn from(e: SheetEntry) -> Self {
        let s = e.sheet;
        SheetLine {
            id: s.id,
            status: s.status.as_str(),
            filename: s.filename,
            uploaded_at_ms: s.uploaded_at_ms,
            uploaded_by: s.uploaded_by,
            uploaded_by_name: e.uploader_name,
            processed_at_ms: s.processed_at_ms,
            rows_total: s.rows_total,
            rows_accepted: s.rows_accepted,
            rows_rejected: s.rows_rejected,
            message: s.message,
            superseded_by: s.superseded_by,
            status_url: format!("/api/v1/score-sheets/{}", s.id),
        }
    }
}

#[derive(Serialize)]
struct SheetHistory {
    course: String,
    session: String,
    semester: String,
    course_result_url: String,
    sheets: Vec<SheetLine>,
}

async fn sheets(
    State(s): State<Services>,
    Auth(who): Auth,
    p: TermPath,
) -> ApiResult<Json<SheetHistory>> {
    let term = term(p)?;
    let sheets = s.sheet_history(&who, &term).await?;
    Ok(Json(SheetHistory {
        course: term.course_code.to_string(),
        session: term.session.to_string(),
        semester: term.semester.to_string(),
        course_result_url: result_url(&term),
        sheets: sheets.into_iter().map(SheetLine::from).collect(),
    }))
}
