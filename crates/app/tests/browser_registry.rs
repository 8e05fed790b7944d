//! The registry's pages in headless Chromium: the administrator signs in, imports students
//! through the upload form's file input (a small CSV written to a temporary file, one row
//! bad) and reads the report with the refused row's line and reason; then one of the new
//! students signs in for the first time on a phone, is made to change the password the file
//! gave them, changes it, and reaches their results page ("no results published yet"). Every
//! registry page is also opened on a phone-sized window and must fit it. Screenshots of each
//! page visited are saved under target/browser-screenshots/<test>/.
//!
//! Run with `cargo test -p eportal --test browser_registry` (needs `./scripts/browser`).

mod common;
mod webdriver;

use common::university::ADMIN;
use common::{spawn_app, TestApp, PASSWORD};
use std::io::Write;
use webdriver::{Browser, Window};

const SIGN_IN_FORM: &str = "form:has(input[name=\"password\"])";
const IMPORT_FORM: &str = "form[action=\"/registry/imports\"]";
const NEW_STUDENT: &str = "SCI/2024/0201";
const FIRST_PASSWORD: &str = "first-pass-0201";

async fn sign_in(app: &TestApp, b: &Browser, who: &str, password: &str) {
    b.goto(&app.url("/login")).await;
    b.fill_and_submit(SIGN_IN_FORM, &[("username", who), ("password", password)])
        .await;
}

/// Whether the page fits a 360-px window without scrolling sideways.
async fn assert_fits_phone(b: &Browser, what: &str) {
    let width = b.eval("return document.documentElement.scrollWidth").await;
    assert!(
        width.as_u64().is_some_and(|w| w <= 360),
        "{what} is {width} px wide on a 360-px phone"
    );
}

#[tokio::test]
async fn imported_students_are_reported_and_change_their_password_at_first_sign_in() {
    let app = spawn_app().await;
    let mut csv = tempfile::Builder::new()
        .prefix("new-students-")
        .suffix(".csv")
        .tempfile()
        .expect("a temporary file");
    write!(
        csv,
        "Matric No,Surname,First Name,Programme,Level,Entry Session,Password\n\
         {NEW_STUDENT},Okafor,Ngozi,CSC,100,2024/2025,{FIRST_PASSWORD}\n\
         SCI/2024/0202,Bello,Aisha,CSC,100,2024/2025,aisha-first-pass\n\
         SCI/2024/0203,Musa,Ibrahim,NOPE,100,2024/2025,ibrahim-first-pass\n"
    )
    .unwrap();
    csv.flush().unwrap();
    let path = csv.path().canonicalize().unwrap();

    {
        let mut b = Browser::start("registry_import", Window::Desktop).await;
        sign_in(&app, &b, ADMIN, PASSWORD).await;
        b.goto(&app.url("/registry")).await;
        b.screenshot_page("registry").await;
        let link = b.find("main a[href=\"/registry/imports\"]").await;
        b.click_to_navigate(&link).await;
        assert!(b.current_url().await.ends_with("/registry/imports"));
        b.screenshot_page("import-form").await;

        let students = b
            .find(&format!(
                "{IMPORT_FORM} select[name=\"kind\"] option[value=\"students\"]"
            ))
            .await;
        b.click(&students).await;
        let file = b
            .find(&format!(
                "{IMPORT_FORM} input[type=\"file\"][name=\"file\"]"
            ))
            .await;
        b.type_into(&file, path.to_str().unwrap()).await;
        let submit = b
            .find(&format!("{IMPORT_FORM} button[type=\"submit\"]"))
            .await;
        b.click_to_navigate(&submit).await;
        b.screenshot_page("import-report").await;

        assert_eq!(b.text(&b.find("h1").await).await, "Import report");
        assert_eq!(b.text(&b.find("#kind").await).await, "students");
        assert_eq!(b.text(&b.find("#imported").await).await, "2");
        assert_eq!(b.text(&b.find("#accounts").await).await, "2");
        let rows = b.find_all("#refused-rows tbody tr").await;
        assert_eq!(rows.len(), 1, "one refused row");
        let row = b.text(&rows[0]).await;
        // The header is line 1: the third student is on line 4.
        assert!(row.starts_with('4'), "{row}");
        assert!(
            row.contains("does not exist; import it first"),
            "no reason in: {row}"
        );
        assert!(row.contains("NOPE"), "{row}");
    }

    let mut b = Browser::start("registry_first_sign_in", Window::Phone).await;
    sign_in(&app, &b, NEW_STUDENT, FIRST_PASSWORD).await;
    b.screenshot("forced-password-change").await;
    assert!(
        b.current_url()
            .await
            .starts_with(&app.url("/account/password")),
        "a new student was let in without changing the password: {}",
        b.current_url().await
    );
    // Every other page sends them back here until they have.
    b.goto(&app.url("/results")).await;
    assert!(b
        .current_url()
        .await
        .starts_with(&app.url("/account/password")));
    assert_fits_phone(&b, "the password page").await;

    const OWN: &str = "ngozi's own passphrase 7";
    b.fill_and_submit(
        "form:has(input[name=\"new_password\"])",
        &[
            ("current_password", FIRST_PASSWORD),
            ("new_password", OWN),
            ("repeat_password", OWN),
        ],
    )
    .await;
    b.screenshot_page("password-changed").await;
    assert!(
        b.page_text()
            .await
            .contains("Your password has been changed"),
        "{}",
        b.page_text().await
    );
    let results = b.find("header nav a[href=\"/results\"]").await;
    b.click_to_navigate(&results).await;
    assert!(
        b.current_url().await.starts_with(&app.url("/results")),
        "after the change: {}",
        b.current_url().await
    );
    b.screenshot_page("results").await;
    let none = b.text(&b.find("#none-published").await).await;
    assert!(none.contains("No results have been published"), "{none}");
    assert!(b.page_text().await.contains("Ngozi"));
    assert_fits_phone(&b, "the results page").await;
}

#[tokio::test]
async fn every_registry_page_fits_a_phone() {
    let app = spawn_app().await;
    let mut b = Browser::start("registry_phone", Window::Phone).await;
    sign_in(&app, &b, ADMIN, PASSWORD).await;
    for (page, heading) in [
        ("/registry", "Registry"),
        ("/registry/imports", "Import records"),
        ("/registry/users", "Reset a password"),
        ("/registry/sheets", "Score sheets"),
        ("/registry/dead-letters", "Dead letters"),
    ] {
        b.goto(&app.url(page)).await;
        b.screenshot_page(page.trim_start_matches('/').replace('/', "-").as_str())
            .await;
        assert_eq!(b.text(&b.find("h1").await).await, heading, "{page}");
        assert_fits_phone(&b, page).await;
    }
    // A generated password, shown once.
    b.goto(&app.url("/registry/users")).await;
    b.fill_and_submit(
        "form[action=\"/registry/users/password\"]",
        &[("username", common::university::STUDENTS[2])],
    )
    .await;
    b.screenshot_page("password-reset").await;
    let shown = b.text(&b.find("#temporary-password").await).await;
    assert!(shown.chars().count() >= 12, "{shown}");
    assert_fits_phone(&b, "the reset page").await;
}
