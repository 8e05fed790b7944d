//! The icon: every page links an SVG icon at an address naming its content hash (cached for a
//! year, revalidated by ETag), and `/favicon.ico`, which browsers ask for on their own,
//! answers with a real ICO instead of a 404 — for everyone, signed in or not, and even for an
//! account that must change its password before it may open any page.

mod browser;
mod common;

use browser::{Browser, Page};
use common::university::{ADMIN, STUDENTS};
use common::{path_matric, spawn_app, TestApp, PASSWORD};
use reqwest::StatusCode;
use serde_json::json;

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// The `href` of the page's `<link rel="icon">`, which must say it is an SVG.
fn icon_link(page: &Page) -> String {
    let link = "<link rel=\"icon\" href=\"";
    let at = page
        .body
        .find(link)
        .unwrap_or_else(|| panic!("an icon link in: {}", page.body));
    let rest = &page.body[at + link.len()..];
    let end = rest.find('"').unwrap();
    assert!(
        rest[end..].starts_with("\" type=\"image/svg+xml\">"),
        "{}",
        &rest[..80.min(rest.len())]
    );
    rest[..end].to_string()
}

async fn get(app: &TestApp, path: &str, etag: Option<&str>) -> reqwest::Response {
    let mut req = app.client.get(app.url(path));
    if let Some(e) = etag {
        req = req.header("if-none-match", e);
    }
    req.send().await.expect("the portal answers")
}

fn header<'a>(res: &'a reqwest::Response, name: &str) -> &'a str {
    res.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("no {name} header"))
}

#[tokio::test]
async fn every_page_links_the_icon_by_its_content_hash() {
    let app = spawn_app().await;
    let mut b = Browser::new(&app.base);
    let login = b.get("/login").await;
    let href = icon_link(&login);
    let hash = href
        .strip_prefix("/assets/icon.")
        .and_then(|h| h.strip_suffix(".svg"))
        .unwrap_or_else(|| panic!("an address naming the icon's hash: {href}"));
    assert_eq!(hash.len(), 16, "{href}");
    assert!(hash.bytes().all(|c| c.is_ascii_hexdigit()), "{href}");

    // The same link on a signed-in page and on an error page.
    b.sign_in(STUDENTS[0], PASSWORD).await;
    assert_eq!(icon_link(&b.get("/results").await), href);
    let missing = b.get("/no/such/page").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(icon_link(&missing), href);

    let icon = get(&app, &href, None).await;
    assert_eq!(icon.status(), StatusCode::OK);
    assert_eq!(header(&icon, "content-type"), "image/svg+xml");
    assert_eq!(
        header(&icon, "cache-control"),
        "public, max-age=31536000, immutable"
    );
    // The page's own policy lets it load: images from this site only (default-src 'self').
    assert_eq!(header(&icon, "content-security-policy"), CSP);
    assert_eq!(header(&icon, "x-content-type-options"), "nosniff");
    let etag = header(&icon, "etag").to_string();
    assert_eq!(etag, format!("\"{hash}\""));
    let svg = icon.text().await.unwrap();
    assert!(
        svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""),
        "{svg}"
    );
    assert_eq!(
        get(&app, &href, Some(&etag)).await.status(),
        StatusCode::NOT_MODIFIED
    );
    assert_eq!(
        get(&app, "/assets/icon.0000000000000000.svg", None)
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn favicon_ico_is_an_icon_not_a_404() {
    let app = spawn_app().await;
    let res = get(&app, "/favicon.ico", None).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(header(&res, "content-type"), "image/x-icon");
    // Its address never changes, so browsers keep it a day and then revalidate it.
    assert_eq!(header(&res, "cache-control"), "public, max-age=86400");
    assert_eq!(header(&res, "content-security-policy"), CSP);
    let etag = header(&res, "etag").to_string();
    let ico = res.bytes().await.unwrap();
    // An ICO of one 16×16 image, 32 bits a pixel, whose directory entry covers the file.
    assert_eq!(&ico[..6], &[0, 0, 1, 0, 1, 0]);
    assert_eq!((ico[6], ico[7]), (16, 16));
    assert_eq!(u16::from_le_bytes([ico[12], ico[13]]), 32);
    let size = u32::from_le_bytes(ico[14..18].try_into().unwrap()) as usize;
    let offset = u32::from_le_bytes(ico[18..22].try_into().unwrap()) as usize;
    assert_eq!(offset + size, ico.len());
    assert_eq!(
        get(&app, "/favicon.ico", Some(&etag)).await.status(),
        StatusCode::NOT_MODIFIED
    );

    // An account that must choose a password first is sent to the password form from every
    // page, but its browser still gets the icon.
    let admin = app.login(ADMIN).await;
    let res = app
        .post_json(
            &format!("/api/v1/users/{}/password", path_matric(STUDENTS[2])),
            Some(&admin),
            &json!({ "new_password": "temporary-123" }),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let mut b = Browser::new(&app.base);
    b.sign_in(STUDENTS[2], "temporary-123").await;
    assert_eq!(
        b.get("/results").await.location(),
        Some("/account/password")
    );
    let icon = b.get("/favicon.ico").await;
    assert_eq!(icon.status, StatusCode::OK);
    assert_eq!(icon.header("content-type"), "image/x-icon");
}
