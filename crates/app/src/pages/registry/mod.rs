//! The registry administrator's pages, under `/registry`: an overview of the pipeline, the
//! import of the university's records (`Services::import_as`, the report the command line
//! prints), the reset of a person's password (`Services::reset_password`, as
//! `POST /api/v1/users/{username}/password`), every score sheet with its job, and the dead
//! letters (`Services::registry_sheets` and `dead_letters`, as `/api/v1/admin/*`).
//!
//! Who may use them is the services' to decide ([`Services::registry_desk`] and the use
//! cases' own checks); these handlers only turn forms into calls and answers into pages.

mod imports;
mod sheets;
mod users;

use super::errors::PageError;
use super::session::Signed;
use super::view::{render, Layout};
use crate::config::Limits;
use crate::services::registry::Overview;
use crate::services::Services;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

pub(super) fn routes(t: Router<Services>, limits: &Limits) -> Router<Services> {
    let t = t.route("/registry", get(overview));
    let t = imports::routes(t, limits);
    let t = users::routes(t);
    sheets::routes(t)
}

struct Count {
    status: &'static str,
    sheets: u64,
}

#[derive(Template)]
#[template(path = "registry.html")]
struct OverviewPage {
    layout: Layout,
    counts: Vec<Count>,
    total: u64,
    dead_letters: u64,
    queue: Option<eportal_ports::queue::QueueStats>,
}

fn overview_page(layout: Layout, o: Overview) -> OverviewPage {
    let dead_letters = o
        .sheets
        .iter()
        .find(|(s, _)| *s == eportal_ports::SheetStatus::Failed)
        .map_or(0, |(_, n)| *n);
    OverviewPage {
        layout,
        total: o.sheets.iter().map(|(_, n)| n).sum(),
        counts: o
            .sheets
            .into_iter()
            .map(|(s, n)| Count {
                status: s.as_str(),
                sheets: n,
            })
            .collect(),
        dead_letters,
        queue: o.queue,
    }
}

async fn overview(State(services): State<Services>, Signed(s): Signed) -> Response {
    match services.registry_overview(&s.who).await {
        Ok(o) => render(
            StatusCode::OK,
            &overview_page(Layout::signed(&s, "Registry"), o),
        ),
        Err(e) => PageError::from(e).into_response(),
    }
}

/// A service's message as a sentence: the API's field prefix ("new_password: …") dropped,
/// the first letter upper-cased, a full stop at the end.
pub(super) fn sentence(message: &str) -> String {
    let m = match message.split_once(": ") {
        Some((field, rest))
            if !field.contains(' ')
                && field.chars().all(|c| c.is_ascii_lowercase() || c == '_') =>
        {
            rest
        }
        _ => message,
    };
    let mut c = m.chars();
    let mut s = c
        .next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default();
    if !s.ends_with(['.', '!', '?']) {
        s.push('.');
    }
    s
}

/// `ms` since the Unix epoch as `2025-05-01 14:03 UTC`.
pub(super) fn utc(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Days to a civil date (Howard Hinnant's algorithm, proleptic Gregorian).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        rest / 3600,
        rest % 3600 / 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_shown_in_utc_to_the_minute() {
        assert_eq!(utc(0), "1970-01-01 00:00 UTC");
        // 2024-02-29 23:59:59.999 UTC, a leap day.
        assert_eq!(utc(1_709_251_199_999), "2024-02-29 23:59 UTC");
        assert_eq!(utc(1_709_251_200_000), "2024-03-01 00:00 UTC");
        assert_eq!(utc(1_735_689_600_000), "2025-01-01 00:00 UTC");
        assert_eq!(utc(-1), "1969-12-31 23:59 UTC");
    }

    #[test]
    fn service_messages_read_as_sentences() {
        assert_eq!(
            sentence("new_password: give at least 12 characters"),
            "Give at least 12 characters."
        );
        assert_eq!(
            sentence("no account is named 'x'"),
            "No account is named 'x'."
        );
        assert_eq!(
            sentence("the file is not UTF-8: line 3"),
            "The file is not UTF-8: line 3."
        );
    }
}
