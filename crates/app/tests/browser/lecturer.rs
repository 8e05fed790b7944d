//! What the lecturer's page tests do through the browser: upload a sheet through a course
//! page's form, wait on the sheet's page until it stops refreshing itself, and read a table
//! row as a person would.

use super::{Browser, Page, Part};
use reqwest::StatusCode;

impl Browser {
    /// Uploads `csv` through the course page's form; returns the answer to the POST.
    pub async fn upload_sheet(&mut self, course_page: &str, csv: &str) -> Page {
        let page = self.get(course_page).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        let csrf = page.csrf();
        self.post_parts(
            &format!("{course_page}/sheets"),
            vec![
                Part::Text("csrf", &csrf),
                Part::File("file", "scores.csv", csv.as_bytes().to_vec()),
            ],
        )
        .await
    }

    /// The sheet's page once the sheet is no longer waiting for a worker.
    pub async fn when_sheet_done(&mut self, sheet_page: &str) -> Page {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let page = self.get(sheet_page).await;
            assert_eq!(page.status, StatusCode::OK, "{}", page.body);
            if !page.body.contains("http-equiv=\"refresh\"") {
                return page;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{sheet_page} still waiting after 30 s"
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
}

/// The table row (`<tr>…</tr>`) of `html` that contains `needle`.
pub fn row_with<'a>(html: &'a str, needle: &str) -> &'a str {
    html.split("<tr>")
        .map(|r| r.split("</tr>").next().unwrap_or(""))
        .find(|r| r.contains(needle))
        .unwrap_or_else(|| panic!("no table row with {needle} in:\n{html}"))
}

/// The text of a table row as a person reads it: tags removed, spaces collapsed.
pub fn text_of_cells(row: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for ch in row.chars() {
        match ch {
            '<' => {
                in_tag = true;
                out.push(' ');
            }
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}
