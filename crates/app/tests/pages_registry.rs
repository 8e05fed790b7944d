//! The registry administrator's pages over HTTP: an import of students through the upload
//! form (its report names the refused row's line and reason, and counts the good ones; a new
//! student then signs in and must first change the password), password resets (given and
//! generated), the sheets and dead-letters pages over a real dead letter (made with the
//! debug-only fault hook `EPORTAL_FAULT_FAIL_ON_SHEET`), who may open these pages, and forms
//! refused without their session's CSRF token.

mod browser;
mod common;

use browser::{Browser, Page};
use common::courses::upload_processed;
use common::university::{ADMIN, CSC201, HOD, LECTURER, SENATE, STUDENTS};
use common::{json, spawn_app, spawn_app_with, TestApp, PASSWORD};
use reqwest::StatusCode;
use sha2::{Digest, Sha256};

const PAGES: [&str; 5] = [
    "/registry",
    "/registry/imports",
    "/registry/users",
    "/registry/sheets",
    "/registry/dead-letters",
];

/// Two good students (the second row's password column left empty: no account) and, on
/// line 4, a student at a level that does not exist; `S/N` is not a column of a students file.
fn students_csv() -> String {
    "S/N,Matric No,Surname,First Name,Programme,Level,Entry Session,Password\n\
     1,SCI/2024/0101,Okafor,Ngozi,CSC,100,2024/2025,ngozi-first-pass\n\
     2,SCI/2024/0102,Bello,Aisha,CSC,100,2024/2025,aisha-first-pass\n\
     3,SCI/2024/0103,Musa,Ibrahim,CSC,250,2024/2025,ibrahim-first-pass\n"
        .to_string()
}

async fn signed_in(app: &TestApp, who: &str, password: &str) -> Browser {
    let mut b = Browser::new(&app.base);
    let res = b.sign_in(who, password).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{who}: {}", res.body);
    b
}

/// Sends the import form as the page's browser would: token first, then kind and file.
async fn import(b: &mut Browser, csrf: Option<&str>, kind: &str, name: &str, csv: &str) -> Page {
    let mut fields = Vec::new();
    if let Some(c) = csrf {
        fields.push(("csrf", c));
    }
    fields.push(("kind", kind));
    b.post_multipart(
        "/registry/imports",
        &fields,
        ("file", name, "text/csv", csv.as_bytes().to_vec()),
    )
    .await
}

fn assert_html(page: &Page, status: StatusCode, what: &str) {
    assert_eq!(page.status, status, "{what}: {}", page.body);
    assert!(
        page.header("content-type").starts_with("text/html"),
        "{what}"
    );
}

/// The text of the element with `id` (its first text, tags and all).
fn by_id<'a>(html: &'a str, id: &str) -> &'a str {
    let at = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id} in: {html}"));
    let rest = &html[at..];
    let start = rest.find('>').unwrap() + 1;
    let end = rest[start..].find('<').unwrap();
    &rest[start..start + end]
}

#[tokio::test]
async fn students_imported_through_the_page_are_reported_and_must_change_their_password() {
    let app = spawn_app().await;
    let mut admin = signed_in(&app, ADMIN, PASSWORD).await;
    let form = admin.get("/registry/imports").await;
    assert_html(&form, StatusCode::OK, "import form");
    assert!(form.body.contains("enctype=\"multipart/form-data\""));
    // Every kind is offered, each with its columns.
    for kind in ["faculties", "students", "staff", "registrations", "policy"] {
        assert!(
            form.body.contains(&format!("<option value=\"{kind}\">")),
            "{kind} is not offered"
        );
    }
    assert!(form.body.contains("matric_no, surname, first_name"));

    let res = import(
        &mut admin,
        Some(form.csrf().as_str()),
        "students",
        "new-students.csv",
        &students_csv(),
    )
    .await;
    assert_html(&res, StatusCode::OK, "import report");
    assert_eq!(by_id(&res.body, "kind"), "students");
    assert_eq!(by_id(&res.body, "imported"), "2");
    assert_eq!(by_id(&res.body, "accounts"), "2");
    assert_eq!(by_id(&res.body, "refused"), "1");
    assert!(by_id(&res.body, "ignored").contains("S/N"), "{}", res.body);
    // The refused row: its line (the header is line 1) and the reason.
    let table = &res.body[res
        .body
        .find("id=\"refused-rows\"")
        .expect("a table of refused rows")..];
    assert!(
        table.contains("<th scope=\"row\" class=\"num\">4</th>"),
        "{table}"
    );
    assert!(
        table.contains("should be 100, 200, 300, 400, 500, 600 or 700"),
        "{table}"
    );
    assert!(!table.contains("SCI/2024/0101") && !table.contains(">2</th>"));

    // The new student signs in with the file's password and must change it first.
    let mut ngozi = signed_in(&app, "SCI/2024/0101", "ngozi-first-pass").await;
    let home = ngozi.get("/").await;
    assert_eq!(home.location(), Some("/account/password"), "{}", home.body);
    let results = ngozi.get("/results").await;
    assert_eq!(results.location(), Some("/account/password"));
    // The refused one has no account.
    let res = app
        .post_json(
            "/api/v1/auth/login",
            None,
            &serde_json::json!({ "username": "SCI/2024/0103", "password": "ibrahim-first-pass" }),
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    // A file that cannot be read at all: the service's reason, the form again, nothing saved.
    let form = admin.get("/registry/imports").await;
    let res = import(
        &mut admin,
        Some(form.csrf().as_str()),
        "students",
        "wrong.csv",
        "Surname,First Name\nOkafor,Ngozi\n",
    )
    .await;
    assert_html(&res, StatusCode::UNPROCESSABLE_ENTITY, "unreadable file");
    let error = by_id(&res.body, "import-error");
    assert!(error.contains("wrong.csv could not be imported"), "{error}");
    assert!(error.to_lowercase().contains("matric"), "{error}");
    assert!(res.body.contains("<option value=\"students\" selected>"));
}

#[tokio::test]
async fn the_administrator_resets_passwords_given_and_generated() {
    const GIVEN: &str = "a temporary one 42";
    let app = spawn_app().await;
    let mut ada = signed_in(&app, STUDENTS[0], PASSWORD).await;
    assert_eq!(ada.get("/results").await.status, StatusCode::OK);
    let mut admin = signed_in(&app, ADMIN, PASSWORD).await;

    // Given: the page does not repeat it; the student's session has ended.
    let form = admin.get("/registry/users").await;
    assert_html(&form, StatusCode::OK, "reset form");
    let res = admin
        .post(
            "/registry/users/password",
            &[
                ("csrf", form.csrf().as_str()),
                ("username", STUDENTS[0]),
                ("new_password", GIVEN),
            ],
        )
        .await;
    assert_html(&res, StatusCode::OK, "given reset");
    assert_eq!(by_id(&res.body, "reset-user"), STUDENTS[0]);
    assert!(res.body.contains("must change it when they next sign in"));
    assert!(!res.body.contains("temporary-password") && !res.body.contains(GIVEN));
    let ended = ada.get("/results").await;
    assert!(
        ended.location().is_some_and(|l| l.starts_with("/login")),
        "the student's page session outlived the reset"
    );
    let mut ada = signed_in(&app, STUDENTS[0], GIVEN).await;
    assert_eq!(
        ada.get("/results").await.location(),
        Some("/account/password")
    );

    // Generated: shown once, and it signs in.
    let form = admin.get("/registry/users").await;
    let res = admin
        .post(
            "/registry/users/password",
            &[
                ("csrf", form.csrf().as_str()),
                ("username", STUDENTS[1]),
                ("new_password", ""),
            ],
        )
        .await;
    assert_html(&res, StatusCode::OK, "generated reset");
    let generated = by_id(&res.body, "temporary-password").to_string();
    assert!(generated.len() >= 12, "{generated}");
    let mut bola = signed_in(&app, STUDENTS[1], &generated).await;
    assert_eq!(bola.get("/").await.location(), Some("/account/password"));
    // Not shown again: the form page holds no password.
    assert!(!admin.get("/registry/users").await.body.contains(&generated));

    // An unknown user and a short password are told on the form.
    let form = admin.get("/registry/users").await;
    let res = admin
        .post(
            "/registry/users/password",
            &[
                ("csrf", form.csrf().as_str()),
                ("username", "SCI/2099/9999"),
                ("new_password", ""),
            ],
        )
        .await;
    assert_html(&res, StatusCode::NOT_FOUND, "unknown user");
    let error = by_id(&res.body, "reset-error");
    assert!(error.contains("No account is named"), "{error}");
    assert!(error.contains("matric number"), "{error}");
    let res = admin
        .post(
            "/registry/users/password",
            &[
                ("csrf", form.csrf().as_str()),
                ("username", STUDENTS[2]),
                ("new_password", "short"),
            ],
        )
        .await;
    assert_html(&res, StatusCode::UNPROCESSABLE_ENTITY, "short password");
    assert!(by_id(&res.body, "reset-error").starts_with("Give at least 8 characters"));
    app.login(STUDENTS[2]).await;
}

/// The fault variable is read by the workers of this process: this binary's only sheet in it.
fn fail_always(csv: &str) {
    let sha = hex::encode(Sha256::digest(csv.as_bytes()));
    std::env::set_var("EPORTAL_FAULT_FAIL_ON_SHEET", format!("{sha}:always"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sheets_and_dead_letters_pages_show_each_job() {
    // Bytes no other test names in a fault hook.
    let bad = format!(
        "Matric No,CA,Exam\n{},34,44\n{},24,34\n{},14,24\n",
        STUDENTS[0], STUDENTS[1], STUDENTS[2]
    );
    fail_always(&bad);
    let app = spawn_app_with(|c| {
        c.worker.retry.base_ms = 20;
        c.worker.retry.max_ms = 200;
        c.worker.retry.max_attempts = 3;
        c.worker.max_deliveries = 3;
    })
    .await;
    let mut admin = signed_in(&app, ADMIN, PASSWORD).await;
    let empty = admin.get("/registry/dead-letters").await;
    assert_html(&empty, StatusCode::OK, "no dead letters");
    assert!(by_id(&empty.body, "empty").contains("There are no dead letters"));

    let lecturer = app.login(LECTURER).await;
    let good = upload_processed(&app, &lecturer, CSC201.0).await;
    let (status, body) = app.upload_csv(&lecturer, CSC201.0, &bad).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let failed_id = body["id"].as_i64().unwrap();
    let failed = app.wait_processed(&lecturer, failed_id).await;
    assert_eq!(failed["status"], "failed", "{failed}");
    let reason = failed["message"].as_str().unwrap().to_string();

    let page = admin.get("/registry/sheets").await;
    assert_html(&page, StatusCode::OK, "sheets");
    let row = |html: &str, id: i64| -> String {
        let at = html
            .find(&format!("id=\"sheet-{id}\""))
            .unwrap_or_else(|| panic!("no row of sheet {id}: {html}"));
        html[at..at + html[at..].find("</tr>").unwrap()].to_string()
    };
    // Newest first: the dead-lettered one, then the processed one.
    assert!(
        page.body.find(&format!("id=\"sheet-{failed_id}\""))
            < page.body.find(&format!("id=\"sheet-{good}\""))
    );
    let done = row(&page.body, good);
    for want in [
        "CSC 201",
        "2024/2025, first semester",
        LECTURER,
        ">processed<",
        "<strong>done</strong>",
        "3 of 3 accepted",
    ] {
        assert!(done.contains(want), "{want} not in {done}");
    }
    let dead = row(&page.body, failed_id);
    for want in [
        ">failed<",
        "<strong>dead-lettered</strong>",
        "(2 retries)",
        "gave up after 3 attempts",
    ] {
        assert!(dead.contains(want), "{want} not in {dead}");
    }
    assert!(by_id(&page.body, "range").contains("of 2"));

    let only = admin.get("/registry/sheets?status=processed").await;
    assert!(only.body.contains(&format!("id=\"sheet-{good}\"")));
    assert!(!only.body.contains(&format!("id=\"sheet-{failed_id}\"")));
    assert!(only.body.contains("<option value=\"processed\" selected>"));
    let bad_filter = admin.get("/registry/sheets?status=lost").await;
    assert_html(&bad_filter, StatusCode::BAD_REQUEST, "unknown status");
    assert!(bad_filter.body.contains("is not a status of a sheet"));
    let past = admin.get("/registry/sheets?offset=50").await;
    assert!(by_id(&past.body, "empty").contains("No sheet matches"));

    let letters = admin.get("/registry/dead-letters").await;
    assert_html(&letters, StatusCode::OK, "dead letters");
    let dead = row(&letters.body, failed_id);
    assert!(dead.contains(&reason), "{reason} not in {dead}");
    assert!(!letters.body.contains(&format!("id=\"sheet-{good}\"")));

    let overview = admin.get("/registry").await;
    assert_html(&overview, StatusCode::OK, "overview");
    assert_eq!(by_id(&overview.body, "count-processed"), "1");
    assert_eq!(by_id(&overview.body, "count-failed"), "1");
    assert_eq!(by_id(&overview.body, "count-queued"), "0");
    assert_eq!(by_id(&overview.body, "count-all"), "2");
    assert!(
        overview.body.contains("1 dead letter</a>"),
        "{}",
        overview.body
    );
    for href in PAGES {
        assert!(
            overview.body.contains(&format!("href=\"{href}")),
            "no link to {href}"
        );
    }
}

/// The registry's pages senate may read too (the service's rule for `/api/v1/admin/*`).
const SENATE_READS: [&str; 2] = ["/registry/sheets", "/registry/dead-letters"];

#[tokio::test]
async fn only_the_registry_administrator_may_use_the_registry_pages() {
    let app = spawn_app().await;
    for who in [STUDENTS[0], LECTURER, HOD, SENATE] {
        let mut b = signed_in(&app, who, PASSWORD).await;
        for page in PAGES {
            let res = b.get(page).await;
            // Senate reads every sheet and dead letter, as through /api/v1/admin/*.
            if who == SENATE && SENATE_READS.contains(&page) {
                assert_html(&res, StatusCode::OK, &format!("{who} {page}"));
                continue;
            }
            assert_html(&res, StatusCode::FORBIDDEN, &format!("{who} {page}"));
            assert!(res.body.contains("registry administrator"), "{who} {page}");
        }
        // Their own valid token does not make the forms theirs.
        let csrf = b.get("/account").await.csrf();
        let res = b
            .post(
                "/registry/users/password",
                &[
                    ("csrf", csrf.as_str()),
                    ("username", STUDENTS[1]),
                    ("new_password", ""),
                ],
            )
            .await;
        assert_html(&res, StatusCode::FORBIDDEN, &format!("{who} reset"));
        let res = import(
            &mut b,
            Some(csrf.as_str()),
            "students",
            "s.csv",
            &students_csv(),
        )
        .await;
        assert_html(&res, StatusCode::FORBIDDEN, &format!("{who} import"));
    }
    let store = app.running.services.ports.store.clone();
    assert!(store.user("SCI/2024/0101").await.unwrap().is_none());
    app.login(STUDENTS[1]).await;

    let mut anonymous = Browser::new(&app.base);
    for page in PAGES {
        let res = anonymous.get(page).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{page}");
        let to = res.location().unwrap_or_default();
        assert!(
            to.starts_with("/login?next=%2Fregistry") || to.starts_with("/login?next=/registry"),
            "{page}: {to}"
        );
    }
    let res = anonymous
        .post("/registry/users/password", &[("username", STUDENTS[1])])
        .await;
    assert!(res.location().is_some_and(|l| l.starts_with("/login")));
    let res = import(&mut anonymous, None, "students", "s.csv", &students_csv()).await;
    assert!(res.location().is_some_and(|l| l.starts_with("/login")));
    assert!(store.user("SCI/2024/0101").await.unwrap().is_none());
}

#[tokio::test]
async fn registry_forms_without_their_sessions_token_change_nothing() {
    let app = spawn_app().await;
    let mut admin = signed_in(&app, ADMIN, PASSWORD).await;
    let mut ada = signed_in(&app, STUDENTS[0], PASSWORD).await;
    let other = ada.get("/account").await.csrf();
    let own = admin.get("/registry/imports").await.csrf();
    let refused = |p: &Page, what: &str| {
        assert_html(p, StatusCode::FORBIDDEN, what);
        assert!(
            p.body.contains("This form has expired"),
            "{what}: {}",
            p.body
        );
    };
    for (what, csrf) in [
        ("no token", None),
        ("an empty token", Some("")),
        ("another session's token", Some(other.as_str())),
    ] {
        let res = import(&mut admin, csrf, "students", "s.csv", &students_csv()).await;
        refused(&res, &format!("import with {what}"));
        let mut form = vec![("username", STUDENTS[1]), ("new_password", "")];
        if let Some(c) = csrf {
            form.push(("csrf", c));
        }
        let res = admin.post("/registry/users/password", &form).await;
        refused(&res, &format!("reset with {what}"));
    }
    // The token must come first, before the file, as the page's form sends it.
    let late = reqwest::multipart::Form::new()
        .text("kind", "students")
        .part(
            "file",
            reqwest::multipart::Part::bytes(students_csv().into_bytes()).file_name("s.csv"),
        )
        .text("csrf", own.clone());
    let res = app
        .client
        .post(app.url("/registry/imports"))
        .header(
            "cookie",
            format!("eportal_session={}", admin.session().unwrap()),
        )
        .multipart(late)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    // Nothing was imported and no password changed.
    let store = app.running.services.ports.store.clone();
    assert!(store.user("SCI/2024/0101").await.unwrap().is_none());
    let (status, _) = json(
        app.post_json(
            "/api/v1/auth/login",
            None,
            &serde_json::json!({ "username": STUDENTS[1], "password": PASSWORD }),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    // And the right token works.
    let res = import(
        &mut admin,
        Some(own.as_str()),
        "students",
        "s.csv",
        &students_csv(),
    )
    .await;
    assert_html(&res, StatusCode::OK, "with the session's token");
}
