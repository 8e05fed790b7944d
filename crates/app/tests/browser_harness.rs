//! The browser harness itself, on what the portal serves without pages: headless Chromium
//! opens the portal's OpenAPI document and health check, in a desktop and a phone window,
//! types into a form and submits it, and saves screenshots that are real PNGs of the window's
//! size. Needs Debian's chromium and chromium-driver (`./scripts/browser` installs them).

mod common;
mod webdriver;

use common::spawn_app;
use serde_json::Value;
use webdriver::{png_size, Browser, Window};

#[tokio::test]
async fn desktop_chromium_shows_the_openapi_document_and_saves_a_screenshot() {
    let app = spawn_app().await;
    let mut b = Browser::start("desktop_openapi", Window::Desktop).await;
    b.goto(&app.url("/api/openapi.json")).await;

    // Chromium shows a JSON answer as its text: it must be the document the portal serves.
    let shown: Value = serde_json::from_str(&b.page_text().await).expect("the page is JSON");
    let served: Value = serde_json::from_str(eportal::http::OPENAPI_JSON).unwrap();
    assert_eq!(shown, served);

    let viewport = b
        .eval("return [window.innerWidth, window.innerHeight, window.devicePixelRatio]")
        .await;
    assert_eq!(viewport, serde_json::json!([1280, 800, 1]), "{viewport}");

    let path = b.screenshot("openapi").await;
    assert!(
        path.ends_with("browser-screenshots/desktop_openapi/01-openapi.png"),
        "{path:?}"
    );
    let png = std::fs::read(&path).expect("the screenshot exists");
    assert_eq!(
        png_size(&png),
        Some((1280, 800)),
        "{path:?} is not a 1280x800 PNG"
    );
    assert!(png.len() > 1000, "{path:?} is only {} bytes", png.len());
}

#[tokio::test]
async fn a_phone_window_is_360_wide_with_a_mobile_user_agent() {
    let app = spawn_app().await;
    let mut b = Browser::start("phone_healthz", Window::Phone).await;
    b.goto(&app.url("/healthz")).await;

    let direct = app.get("/healthz", None).await.text().await.unwrap();
    assert_eq!(b.page_text().await.trim(), direct.trim());

    // A page without a viewport meta is laid out 980 px wide on a phone, as on a real one:
    // the screen is what must be 360×740.
    let seen = b
        .eval("return [screen.width, screen.height, navigator.userAgent]")
        .await;
    assert_eq!(
        (seen[0].as_u64(), seen[1].as_u64()),
        (Some(360), Some(740)),
        "{seen}"
    );
    let ua = seen[2].as_str().unwrap_or_default();
    assert!(
        ua.contains("Android") && ua.contains("Mobile"),
        "user agent: {ua}"
    );

    let path = b.screenshot("healthz").await;
    let png = std::fs::read(&path).expect("the screenshot exists");
    assert_eq!(
        png_size(&png),
        Some((360, 740)),
        "{path:?} is not a 360x740 PNG"
    );
}

#[tokio::test]
async fn typing_into_a_form_and_submitting_it_reaches_the_portal() {
    let app = spawn_app().await;
    let mut b = Browser::start("form_submit", Window::Desktop).await;
    // A form of the test's own (the portal has no page yet) whose GET lands on the portal:
    // what was typed must arrive in the query string.
    let action = app.url("/healthz");
    let html = format!(
        "<!doctype html><title>probe</title><form id=f action=\"{action}\">\
         <label>Name <input name=username></label>\
         <label>Code <input name=password type=password></label>\
         <button type=submit>Go</button></form>"
    );
    b.goto(&format!("data:text/html,{}", urlencode(&html)))
        .await;
    assert_eq!(b.title().await, "probe");
    let label = b.find("#f label").await;
    assert_eq!(b.text(&label).await, "Name");
    b.screenshot("form").await;

    b.fill_and_submit(
        "#f",
        &[("username", "SCI/2021/0001"), ("password", "s3cret pw")],
    )
    .await;
    let url = b.current_url().await;
    assert_eq!(
        url,
        app.url("/healthz?username=SCI%2F2021%2F0001&password=s3cret+pw")
    );
    b.screenshot("submitted").await;
    let shots: Vec<_> = std::fs::read_dir(b.screenshot_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    let mut shots = shots;
    shots.sort();
    assert_eq!(shots, ["01-form.png", "02-submitted.png"]);
}

/// Percent-encodes everything but letters and digits (enough for a data: URL).
fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[tokio::test]
async fn a_whole_page_screenshot_reaches_below_the_fold() {
    let mut b = Browser::start("phone_full_page", Window::Phone).await;
    // A page three screens tall on a phone that keeps its 360-px width.
    let html = "<!doctype html><meta name=viewport content=\"width=device-width\">\
                <style>body{margin:0}div{height:2220px;background:#036}</style><div></div>";
    b.goto(&format!("data:text/html,{}", urlencode(html))).await;
    let viewport = std::fs::read(b.screenshot("viewport").await).unwrap();
    assert_eq!(png_size(&viewport), Some((360, 740)));
    let page = std::fs::read(b.screenshot_page("page").await).unwrap();
    assert_eq!(png_size(&page), Some((360, 2220)));
}
