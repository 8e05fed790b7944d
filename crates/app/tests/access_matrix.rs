//! The access-control matrix: every API route and every page, asked by every kind of person,
//! against a table written by hand from the services' rules (DESIGN.md: a student sees only
//! their own results, a lecturer acts only for the courses allocated to them, an HOD in their
//! department, a dean in their faculty, senate and the registry everywhere).
//!
//! The state: CSC 201 (Computer Science, Faculty of Science; 2024/2025 first semester, taught
//! by LECTURER) has a processed score sheet and was submitted by its lecturer, so it waits for
//! its HOD. Paths are filled in with that course and term, that sheet, STUDENTS[0]'s matric
//! number, and STUDENTS[2] as the account the registry acts on (no column signs in as them
//! after the anonymous one). `{token}` is a results link of STUDENTS[0]'s, made afresh for
//! each cell: it opens that student's results whoever holds it, signed in or not (its own
//! refusals — altered, expired, revoked — are `api_result_links`'s). `{code}` is a
//! verification code no document has, and `{id}` (the sheet's id) names no amendment, so
//! reading or deciding one is a 404 (an undecodable decision is refused first, as 422);
//! STUDENTS[0] has no published result, so a transcript
//! or a result slip of theirs is refused as not possible yet (409) for everyone who may read
//! their results (`api_transcripts` issues real ones).
//!
//! Columns: `anon` nobody signed in; `own` STUDENTS[0] (the student the paths name); `oth`
//! STUDENTS[1]; `lect` LECTURER (allocated to CSC 201); `olec` OTHER_LECTURER; `hod` the CSC
//! HOD; `mhod` the MTH HOD; `dean` the Science dean; `adn` the Arts dean; `sen` senate;
//! `adm` the registry administrator.
//!
//! Cells — API (bearer tokens; every refusal a problem body):
//!   `A` allowed (2xx) · `C` in scope, but not in this state (409) · `V` in scope, the input
//!   refused (400/422) · `U` not signed in (401) · `R` refused (403) · `N` answered as if it
//!   did not exist (404).
//! Cells — pages (the cookie session and CSRF token of a browser):
//!   `A` allowed (200, or a 303 anywhere but the sign-in page) · `C`/`V` as for the API (409
//!   or 400/422, or a 303 back to a page that says so) · `L` sent to the sign-in page (303) ·
//!   `R` a 403 error page · `N` a 404 error page.
//!
//! A request whose cell is allowed is chosen to change nothing the next cells rely on: a
//! password change with a too-short password, an upload and a submission the state refuses,
//! a return without a reason. The one step that does move the result (the HOD's approval) is
//! undone after it (returned by the dean, resubmitted by the lecturer), and sign-out comes
//! last in each column, after a fresh sign-in.
//!
//! Completeness: the API table must list exactly what `eportal::http::routes()` serves, and
//! the page tables exactly `eportal::pages::PAGE_ROUTES` (whose own unit test checks it
//! against the page modules' routes).

mod browser;
mod common;

use browser::{Browser, Page};
use common::courses::{moves_to, sheet, upload_processed};
use common::university::{
    ADMIN, ARTS_DEAN, CSC201, DEAN, HOD, LECTURER, MTH_HOD, OTHER_LECTURER, SENATE, STUDENTS,
};
use common::{path_matric, spawn_app, TestApp, PASSWORD};
use eportal_core::model::CourseTerm;
use eportal_core::{AcademicSession, CourseCode, Semester};
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::collections::BTreeSet;
use std::time::Instant;

/// Who signs in for each column (`None`: nobody).
const COLUMNS: [(&str, Option<&str>); 11] = [
    ("anon", None),
    ("own", Some(STUDENTS[0])),
    ("oth", Some(STUDENTS[1])),
    ("lect", Some(LECTURER)),
    ("olec", Some(OTHER_LECTURER)),
    ("hod", Some(HOD)),
    ("mhod", Some(MTH_HOD)),
    ("dean", Some(DEAN)),
    ("adn", Some(ARTS_DEAN)),
    ("sen", Some(SENATE)),
    ("adm", Some(ADMIN)),
];

const API: &str = "
method path                                                            anon own oth lect olec hod mhod dean adn sen adm
POST   /api/v1/auth/login                                              A    A   A   A    A    A   A    A    A   A   A
GET    /api/v1/me                                                      U    A   A   A    A    A   A    A    A   A   A
POST   /api/v1/auth/password                                           U    V   V   V    V    V   V    V    V   V   V
POST   /api/v1/users/{username}/revoke-sessions                        U    R   R   R    R    R   R    R    R   R   A
POST   /api/v1/users/{username}/password                               U    R   R   R    R    R   R    R    R   R   A
GET    /api/v1/students                                                U    R   R   R    R    R   R    R    R   A   A
GET    /api/v1/students/{matric_no}/results                            U    A   R   R    R    A   R    A    R   A   A
GET    /api/v1/r/{token}                                               A    A   A   A    A    A   A    A    A   A   A
GET    /api/v1/students/{matric_no}/transcript.pdf                     U    C   R   R    R    C   R    C    R   C   C
GET    /api/v1/students/{matric_no}/results/{session}/{semester}/slip.pdf U  C   R   R    R    C   R    C    R   C   C
GET    /api/v1/verify/{code}                                           N    N   N   N    N    N   N    N    N   N   N
POST   /api/v1/documents/{code}/revoke                                 U    R   R   R    R    R   R    R    R   R   V
POST   /api/v1/score-sheets                                            U    R   R   C    R    R   R    R    R   R   C
GET    /api/v1/score-sheets/{id}                                       U    N   N   A    N    A   N    A    N   A   A
POST   /api/v1/score-sheets/{id}/confirm                               U    N   N   C    N    R   N    R    N   R   C
GET    /api/v1/me/review-queue                                         U    R   R   R    R    A   A    A    A   A   R
GET    /api/v1/admin/sheets                                            U    R   R   R    R    R   R    R    R   A   A
GET    /api/v1/admin/dead-letters                                      U    R   R   R    R    R   R    R    R   A   A
POST   /api/v1/admin/policies                                          U    R   R   R    R    R   R    R    R   R   V
GET    /api/v1/admin/regrades                                          U    R   R   R    R    R   R    R    R   A   A
GET    /api/v1/admin/regrades/{id}                                     U    R   R   R    R    R   R    R    R   N   N
GET    /api/v1/me/courses                                              U    A   A   A    A    A   A    A    A   A   A
GET    /api/v1/course-results/{course}/{session}/{semester}            U    R   R   A    R    A   R    A    R   A   A
GET    /api/v1/course-results/{course}/{session}/{semester}/class-list U    R   R   A    R    A   R    A    R   A   A
GET    /api/v1/course-results/{course}/{session}/{semester}/template   U    R   R   A    R    A   R    A    R   A   A
GET    /api/v1/course-results/{course}/{session}/{semester}/sheets     U    R   R   A    R    A   R    A    R   A   A
POST   /api/v1/course-results/{course}/{session}/{semester}/submit     U    R   R   C    R    C   R    C    R   C   C
POST   /api/v1/course-results/{course}/{session}/{semester}/approve    U    R   R   R    R    A   R    R    R   R   R
POST   /api/v1/course-results/{course}/{session}/{semester}/return     U    R   R   R    R    V   R    R    R   R   R
POST   /api/v1/course-results/{course}/{session}/{semester}/publish    U    R   R   C    R    C   R    C    R   C   C
POST   /api/v1/course-results/{course}/{session}/{semester}/amendments U    R   R   V    R    R   R    R    R   R   V
GET    /api/v1/course-results/{course}/{session}/{semester}/amendments U    R   R   A    R    A   R    A    R   A   A
GET    /api/v1/amendments                                              U    A   A   A    A    A   A    A    A   A   A
GET    /api/v1/amendments/{id}                                         U    N   N   N    N    N   N    N    N   N   N
POST   /api/v1/amendments/{id}/decision                                U    V   V   V    V    V   V    V    V   V   V
GET    /healthz                                                        A    A   A   A    A    A   A    A    A   A   A
GET    /readyz                                                         A    A   A   A    A    A   A    A    A   A   A
GET    /metrics                                                        A    A   A   A    A    A   A    A    A   A   A
GET    /api/openapi.json                                               A    A   A   A    A    A   A    A    A   A   A
POST   /api/v1/auth/logout                                             U    A   A   A    A    A   A    A    A   A   A
";

/// Every page. A reviewer's page of a course result is for its reviewers only (its lecturer
/// reads it on the course page). Form fields sent: `csrf`, an upload's or import's `file`, an
/// import's `kind`, a return's `reason`, the registry's `username` and `new_password`.
const PAGES: &str = "
method path                                                anon own oth lect olec hod mhod dean adn sen adm
GET    /                                                   L    A   A   A    A    A   A    A    A   A   A
GET    /login                                              A    A   A   A    A    A   A    A    A   A   A
POST   /login                                              A    A   A   A    A    A   A    A    A   A   A
GET    /account                                            L    A   A   A    A    A   A    A    A   A   A
GET    /account/password                                   L    A   A   A    A    A   A    A    A   A   A
POST   /account/password                                   L    V   V   V    V    V   V    V    V   V   V
GET    /results                                            L    A   A   R    R    R   R    R    R   R   R
GET    /r/{token}                                          A    A   A   A    A    A   A    A    A   A   A
GET    /students/{matric_no}/transcript.pdf                L    C   R   R    R    C   R    C    R   C   C
GET    /students/{matric_no}/results/{session}/{semester}/slip.pdf L C R R  R    C   R    C    R   C   C
GET    /verify                                             A    A   A   A    A    A   A    A    A   A   A
GET    /verify/{code}                                      N    N   N   N    N    N   N    N    N   N   N
POST   /verify/{code}/revoke                               L    R   R   R    R    R   R    R    R   R   N
GET    /favicon.ico                                        A    A   A   A    A    A   A    A    A   A   A
GET    /assets/{file}                                      A    A   A   A    A    A   A    A    A   A   A
POST   /logout                                             A    A   A   A    A    A   A    A    A   A   A
GET    /courses                                            L    A   A   A    A    A   A    A    A   A   A
GET    /courses/{course}/{session}/{semester}              L    R   R   A    R    A   R    A    R   A   A
GET    /courses/{course}/{session}/{semester}/template.csv L    R   R   A    R    A   R    A    R   A   A
GET    /courses/{course}/{session}/{semester}/template.xlsx L   R   R   A    R    A   R    A    R   A   A
POST   /courses/{course}/{session}/{semester}/sheets       L    R   R   C    R    R   R    R    R   R   C
POST   /courses/{course}/{session}/{semester}/submit       L    R   R   C    R    C   R    C    R   C   C
GET    /sheets/{id}                                        L    N   N   A    N    A   N    A    N   A   A
POST   /sheets/{id}/confirm                                L    N   N   C    N    R   N    R    N   R   C
POST   /courses/{course}/{session}/{semester}/amendments   L    R   R   V    R    R   R    R    R   R   V
GET    /amendments                                         L    A   A   A    A    A   A    A    A   A   A
GET    /amendments/{id}                                    L    N   N   N    N    N   N    N    N   N   N
POST   /amendments/{id}/decision                           L    N   N   N    N    N   N    N    N   N   N
GET    /review                                             L    R   R   R    R    A   A    A    A   A   R
GET    /review/{course}/{session}/{semester}               L    R   R   R    R    A   R    A    R   A   A
POST   /review/{course}/{session}/{semester}/approve       L    R   R   R    R    A   R    R    R   R   R
POST   /review/{course}/{session}/{semester}/return        L    R   R   R    R    V   R    R    R   R   R
POST   /review/{course}/{session}/{semester}/publish       L    R   R   C    R    C   R    C    R   C   C
GET    /registry                                           L    R   R   R    R    R   R    R    R   R   A
GET    /registry/imports                                   L    R   R   R    R    R   R    R    R   R   A
POST   /registry/imports                                   L    R   R   R    R    R   R    R    R   R   V
GET    /registry/users                                     L    R   R   R    R    R   R    R    R   R   A
POST   /registry/users/password                            L    R   R   R    R    R   R    R    R   R   A
GET    /registry/sheets                                    L    R   R   R    R    R   R    R    R   A   A
GET    /registry/dead-letters                              L    R   R   R    R    R   R    R    R   A   A
GET    /registry/students                                  L    R   R   R    R    R   R    R    R   R   A
";

struct Row {
    method: String,
    path: String,
    cells: Vec<char>,
}

fn parse(table: &str) -> Vec<Row> {
    let mut lines = table.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<&str> = lines.next().expect("a header").split_whitespace().collect();
    let names: Vec<&str> = COLUMNS.iter().map(|c| c.0).collect();
    assert_eq!(header[2..], names[..], "the table's columns");
    lines
        .map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            assert_eq!(w.len(), 2 + COLUMNS.len(), "a cell per column: {l}");
            let cells = w[2..]
                .iter()
                .map(|c| {
                    assert!(c.len() == 1 && "ACVURNL".contains(*c), "cell {c} in: {l}");
                    c.chars().next().unwrap()
                })
                .collect();
            Row {
                method: w[0].to_string(),
                path: w[1].to_string(),
                cells,
            }
        })
        .collect()
}

/// `/a/{x}` → `/a/{}`: routes compared whatever their parameters are called.
fn shape(path: &str) -> String {
    path.split('/')
        .map(|seg| if seg.starts_with('{') { "{}" } else { seg })
        .collect::<Vec<_>>()
        .join("/")
}

fn shapes<'a>(rows: impl Iterator<Item = (&'a str, &'a str)>) -> BTreeSet<(String, String)> {
    rows.map(|(m, p)| (m.to_string(), shape(p))).collect()
}

/// What the paths' parameters stand for.
struct Subjects {
    sheet_id: i64,
    css: String,
}

impl Subjects {
    fn fill(&self, template: &str) -> String {
        template
            .replace("{course}", CSC201.0)
            .replace("{session}", "2024-2025")
            .replace("{semester}", "first")
            .replace("{id}", &self.sheet_id.to_string())
            .replace("{matric_no}", &path_matric(STUDENTS[0]))
            .replace("{username}", &path_matric(STUDENTS[2]))
            .replace("{file}", self.css.trim_start_matches("/assets/"))
            // No document has this code: verifying it is a 404 for everyone.
            .replace("{code}", "7K2D-9QXM-4T1V-BC3N")
    }
}

fn csc201() -> CourseTerm {
    CourseTerm {
        course_code: CourseCode::parse(CSC201.0).unwrap(),
        session: AcademicSession::new(2024).unwrap(),
        semester: Semester::First,
    }
}

/// CSC 201 uploaded, processed and submitted by its lecturer.
async fn arrange() -> (TestApp, Subjects) {
    let app = spawn_app().await;
    let lecturer = app.login(LECTURER).await;
    let sheet_id = upload_processed(&app, &lecturer, CSC201.0).await;
    moves_to(&app, &lecturer, CSC201.0, "submit", "submitted").await;
    let login = Browser::new(&app.base).get("/login").await;
    let link = "rel=\"stylesheet\" href=\"";
    let at = login.body.find(link).expect("the stylesheet's link");
    let rest = &login.body[at + link.len()..];
    let css = rest[..rest.find('"').unwrap()].to_string();
    (app, Subjects { sheet_id, css })
}

/// Puts CSC 201 back where every column expects it (submitted) after a step moved it on:
/// the dean returns it and the lecturer submits it again.
async fn restore(app: &TestApp) {
    let store = &app.running.services.ports.store;
    let state = store.course_result(&csc201()).await.unwrap().state;
    match state.as_str() {
        "submitted" => {}
        "hod_approved" => {
            let dean = app.login(DEAN).await;
            let res = app
                .post_json(
                    "/api/v1/course-results/CSC201/2024-2025/first/return",
                    Some(&dean),
                    &json!({ "reason": "put back for the next cell of the access matrix" }),
                )
                .await;
            assert_eq!(
                res.status(),
                StatusCode::OK,
                "{}",
                res.text().await.unwrap()
            );
            let lecturer = app.login(LECTURER).await;
            moves_to(app, &lecturer, CSC201.0, "submit", "submitted").await;
        }
        other => panic!("CSC 201 moved to {other}, which no cell of the matrix should do"),
    }
}

fn moves_the_result(path: &str) -> bool {
    ["/submit", "/approve", "/return", "/publish"]
        .iter()
        .any(|a| path.ends_with(a))
}

/// The letter an API answer earns, or a description of what is wrong with it.
async fn api_letter(res: reqwest::Response) -> String {
    let status = res.status();
    let problem = res
        .headers()
        .get("content-type")
        .is_some_and(|v| v.as_bytes() == b"application/problem+json");
    let letter = match status.as_u16() {
        200..=299 => 'A',
        409 => 'C',
        400 | 422 => 'V',
        401 => 'U',
        403 => 'R',
        404 => 'N',
        _ => return format!("?{status}: {}", res.text().await.unwrap_or_default()),
    };
    if letter != 'A' && !problem {
        return format!("{letter} without a problem body");
    }
    letter.to_string()
}

async fn api_cell(
    app: &TestApp,
    s: &Subjects,
    row: &Row,
    who: Option<&str>,
    token: Option<&str>,
) -> String {
    let url = s
        .fill(&row.path)
        .replace("{token}", &common::results_link(app, STUDENTS[0]).await);
    let method = Method::from_bytes(row.method.as_bytes()).unwrap();
    let req = app.request(method.clone(), &url, token);
    let req = match (method, row.path.as_str()) {
        (Method::POST, "/api/v1/auth/login") => req.json(&json!({
            "username": who.unwrap_or(STUDENTS[2]), "password": PASSWORD
        })),
        (Method::POST, "/api/v1/auth/password") => {
            req.json(&json!({ "current_password": PASSWORD, "new_password": "short" }))
        }
        (Method::POST, "/api/v1/users/{username}/password") => {
            req.json(&json!({ "new_password": PASSWORD }))
        }
        (Method::POST, "/api/v1/score-sheets") => app
            .request(
                Method::POST,
                &format!("{url}?course={}&session=2024-2025&semester=first", CSC201.0),
                token,
            )
            .header("content-type", "text/csv")
            .body(sheet()),
        (Method::POST, _) => req.json(&json!({})),
        _ => req,
    };
    api_letter(req.send().await.expect("the portal answers")).await
}

/// The letter a page answer earns (`S`: a 303 elsewhere than the sign-in page, which may
/// stand for `A`, `C` or `V`), or a description of what is wrong with it.
fn page_letter(p: &Page) -> String {
    let html = p
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let letter = match p.status.as_u16() {
        200..=299 => 'A',
        303 => {
            let to = p.location().unwrap_or_default();
            if to == "/login" || to.starts_with("/login?next=") || to.starts_with("/login?ended") {
                'L'
            } else {
                'S'
            }
        }
        409 => 'C',
        400 | 422 => 'V',
        403 => 'R',
        404 => 'N',
        _ => return format!("?{}: {}", p.status, p.body),
    };
    if matches!(letter, 'C' | 'V' | 'R' | 'N') && !html {
        return format!("{letter} without an HTML error page");
    }
    letter.to_string()
}

fn page_matches(expected: char, seen: &str) -> bool {
    seen == expected.to_string() || (seen == "S" && "ACV".contains(expected))
}

/// A column's browser, signed in as its person (or no one), and its forms' CSRF token.
struct Visitor {
    browser: Browser,
    csrf: String,
}

async fn visitor(app: &TestApp, who: Option<&str>) -> Visitor {
    let mut browser = Browser::new(&app.base);
    let Some(u) = who else {
        return Visitor {
            browser,
            csrf: String::new(),
        };
    };
    let signed = browser.sign_in(u, PASSWORD).await;
    assert_eq!(signed.status, StatusCode::SEE_OTHER, "{u}: {}", signed.body);
    let csrf = browser.get("/account").await.csrf();
    Visitor { browser, csrf }
}

async fn page_cell(
    app: &TestApp,
    s: &Subjects,
    row: &Row,
    who: Option<&str>,
    v: &mut Visitor,
) -> String {
    let url = s
        .fill(&row.path)
        .replace("{token}", &common::results_link(app, STUDENTS[0]).await);
    let csrf = v.csrf.clone();
    let b = &mut v.browser;
    let page = match (row.method.as_str(), row.path.as_str()) {
        ("GET", _) => b.get(&url).await,
        ("POST", "/login") => {
            // A sign-in, from a copy of this browser so its own session stays as it is.
            let mut form = Browser::new(&app.base);
            let token = form.get("/login").await.csrf();
            let mut copy = b.fork();
            copy.cookies.extend(form.cookies);
            copy.post(
                "/login",
                &[
                    ("username", who.unwrap_or(STUDENTS[2])),
                    ("password", PASSWORD),
                    ("next", "/"),
                    ("csrf", &token),
                ],
            )
            .await
        }
        ("POST", "/account/password") => {
            b.post(
                &url,
                &[
                    ("current_password", PASSWORD),
                    ("new_password", "short"),
                    ("repeat_password", "short"),
                    ("csrf", &csrf),
                ],
            )
            .await
        }
        ("POST", "/courses/{course}/{session}/{semester}/sheets") => {
            b.post_multipart(
                &url,
                &[("csrf", &csrf)],
                ("file", "csc201.csv", "text/csv", sheet().into_bytes()),
            )
            .await
        }
        ("POST", "/registry/imports") => {
            b.post_multipart(
                &url,
                &[("csrf", &csrf), ("kind", "students")],
                ("file", "students.csv", "text/csv", Vec::new()),
            )
            .await
        }
        ("POST", "/review/{course}/{session}/{semester}/return") => {
            b.post(&url, &[("reason", ""), ("csrf", &csrf)]).await
        }
        ("POST", "/registry/users/password") => {
            b.post(
                &url,
                &[
                    ("username", STUDENTS[2]),
                    ("new_password", PASSWORD),
                    ("csrf", &csrf),
                ],
            )
            .await
        }
        ("POST", _) => b.post(&url, &[("csrf", &csrf)]).await,
        (m, _) => panic!("no request is written for {m} {}", row.path),
    };
    page_letter(&page)
}

/// Walks every column down the rows of `api` and `pages`; returns the cells that differ
/// from the table, as `row × column: expected X, saw Y`.
async fn walk(app: &TestApp, s: &Subjects, api: &[Row], pages: &[Row]) -> Vec<String> {
    let mut wrong = Vec::new();
    for (col, (name, who)) in COLUMNS.iter().enumerate() {
        let mut v = visitor(app, *who).await;
        let token = match who {
            Some(u) => Some(app.login(u).await),
            None => None,
        };
        // Sign-out ends the account's sessions: the page's comes after every other page,
        // the API's last of all.
        let (api_last, api_rows): (Vec<&Row>, Vec<&Row>) =
            api.iter().partition(|r| r.path == "/api/v1/auth/logout");
        let (page_last, page_rows): (Vec<&Row>, Vec<&Row>) =
            pages.iter().partition(|r| r.path == "/logout");
        for row in api_rows {
            let seen = api_cell(app, s, row, *who, token.as_deref()).await;
            if moves_the_result(&row.path) {
                restore(app).await;
            }
            if seen != row.cells[col].to_string() {
                wrong.push(format!(
                    "API {} {} × {name}: expected {}, saw {seen}",
                    row.method, row.path, row.cells[col]
                ));
            }
        }
        for row in page_rows.into_iter().chain(page_last) {
            let seen = page_cell(app, s, row, *who, &mut v).await;
            if moves_the_result(&row.path) {
                restore(app).await;
            }
            if !page_matches(row.cells[col], &seen) {
                wrong.push(format!(
                    "page {} {} × {name}: expected {}, saw {seen}",
                    row.method, row.path, row.cells[col]
                ));
            }
        }
        for row in api_last {
            // The page's sign-out ended this token too: sign in again first.
            let fresh = match who {
                Some(u) => Some(app.login(u).await),
                None => None,
            };
            let seen = api_cell(app, s, row, *who, fresh.as_deref()).await;
            if seen != row.cells[col].to_string() {
                wrong.push(format!(
                    "API {} {} × {name}: expected {}, saw {seen}",
                    row.method, row.path, row.cells[col]
                ));
            }
        }
    }
    wrong
}

#[test]
fn the_tables_list_every_route_and_page() {
    let api = parse(API);
    let served = eportal::http::routes();
    let listed = shapes(api.iter().map(|r| (r.method.as_str(), r.path.as_str())));
    let routes = shapes(served.iter().map(|(m, p)| (m.as_str(), p.as_str())));
    assert_eq!(listed.len(), api.len(), "an API route is listed twice");
    assert_eq!(
        listed,
        routes,
        "API routes not in the matrix: {:?}; rows for routes that are not served: {:?}",
        routes.difference(&listed).collect::<Vec<_>>(),
        listed.difference(&routes).collect::<Vec<_>>()
    );

    let pages = parse(PAGES);
    let listed = shapes(pages.iter().map(|r| (r.method.as_str(), r.path.as_str())));
    assert_eq!(listed.len(), pages.len(), "a page is listed twice");
    let known = shapes(eportal::pages::PAGE_ROUTES.iter().copied());
    assert_eq!(
        listed,
        known,
        "pages not in the matrix: {:?}; rows for pages not in PAGE_ROUTES: {:?}",
        known.difference(&listed).collect::<Vec<_>>(),
        listed.difference(&known).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn every_api_route_and_page_answers_each_person_as_the_services_rule() {
    let started = Instant::now();
    let (app, s) = arrange().await;
    let wrong = walk(&app, &s, &parse(API), &parse(PAGES)).await;
    assert!(
        wrong.is_empty(),
        "{} cells differ from the matrix:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    eprintln!("access matrix (API and pages): {:?}", started.elapsed());
}
