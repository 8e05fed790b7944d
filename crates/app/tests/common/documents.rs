//! Document helpers of the API tests: downloading a PDF (checking the headers every
//! document is sent with) and reading its text back with `pdftotext`.

use super::TestApp;
use reqwest::StatusCode;

/// The text of a PDF, laid out as on the page (`pdftotext -layout`).
pub fn pdf_text(bytes: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("doc.pdf");
    std::fs::write(&path, bytes).unwrap();
    let out = std::process::Command::new("pdftotext")
        .args(["-layout", "-enc", "UTF-8"])
        .arg(&path)
        .arg("-")
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run pdftotext ({e}): install Debian's poppler-utils with ./scripts/services")
        });
    assert!(
        out.status.success(),
        "pdftotext failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("pdftotext writes UTF-8")
}

/// Downloads a PDF; returns its verification code (as the header gives it) and bytes.
pub async fn download(app: &TestApp, path: &str, token: &str) -> (String, Vec<u8>) {
    let res = app.get(path, Some(token)).await;
    assert_eq!(res.status(), StatusCode::OK, "{path}");
    let h = res.headers().clone();
    assert_eq!(h["content-type"], "application/pdf");
    assert_eq!(h["cache-control"], "private, no-store");
    let disposition = h["content-disposition"].to_str().unwrap().to_string();
    assert!(
        disposition.starts_with("attachment; filename=\""),
        "{disposition}"
    );
    let code = h["x-eportal-document-code"].to_str().unwrap().to_string();
    let bytes = res.bytes().await.unwrap().to_vec();
    assert!(bytes.starts_with(b"%PDF-"), "a PDF");
    (code, bytes)
}
