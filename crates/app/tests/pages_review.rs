//! The reviewers' pages over HTTP: the HOD's queue at /review shows CSC 201 once its lecturer
//! submits it, with the grade distribution and pass rate worked out here by hand, while other
//! departments' and faculties' reviewers see nothing; a return needs a reason and sends the
//! result back; the HOD, the dean and senate approve in turn and senate publishes, each form
//! answering with a 303 to the queue and a confirmation. What the review pages refuse is in
//! `pages_review_refusals.rs`. The result's state is always read back through the API, never
//! from the pages.

mod browser;
mod common;

use browser::{Browser, Page};
use common::courses::{csc201_state, csc201_submitted, moves_to};
use common::university::{ARTS_DEAN, CSC201, DEAN, HOD, LECTURER, MTH_HOD, SENATE, STUDENTS};
use common::{spawn_app, TestApp, PASSWORD};
use reqwest::StatusCode;

const ITEM: &str = "/review/CSC201/2024-2025/first";

/// `common::courses::sheet()` under the default policy (totals rounded half up; A 70+,
/// B 60+, C 50+, D 45+, E 40+, F below; pass mark 40):
///
/// | student | CA + exam | total | grade | passed |
/// |---|---|---|---|---|
/// | 0 | 30 + 45 | 75 | A | yes |
/// | 1 | 25 + 30 | 55 | C | yes |
/// | 2 | 10 + 20 | 30 | F | no |
///
/// so A 1, B 0, C 1, D 0, E 0, F 1, and 2 of 3 passed: 66.7 %.
const DISTRIBUTION: [(&str, &str); 6] = [
    ("A", "1"),
    ("B", "0"),
    ("C", "1"),
    ("D", "0"),
    ("E", "0"),
    ("F", "1"),
];
const PASS_RATE: &str = "66.7% (2 of 3 passed)";
const RECORDS: [[&str; 5]; 3] = [
    [STUDENTS[0], "30", "45", "75", "A"],
    [STUDENTS[1], "25", "30", "55", "C"],
    [STUDENTS[2], "10", "20", "30", "F"],
];

async fn signed_in(app: &TestApp, who: &str) -> Browser {
    Browser::signed_in(&app.base, who, PASSWORD).await
}

/// The text of `html` with its tags removed and its spaces collapsed.
fn text(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for ch in html.chars() {
        match ch {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The (grade, count) lines of the first grade-distribution table of the page.
fn distribution(page: &Page) -> Vec<(String, String)> {
    let at = page
        .body
        .find("class=\"review-dist\"")
        .unwrap_or_else(|| panic!("no distribution table in {}", page.body));
    let table = &page.body[at..];
    let table = &table[..table.find("</table>").unwrap()];
    table
        .split("<th scope=\"row\">")
        .skip(1)
        .map(|row| {
            let grade = &row[..row.find("</th>").unwrap()];
            let cell = &row[row.find("<td class=\"num\">").unwrap() + 16..];
            (
                grade.to_string(),
                cell[..cell.find("</td>").unwrap()].to_string(),
            )
        })
        .collect()
}

/// The cells of each body row of the table with `id`, tags stripped.
fn table_rows(page: &Page, id: &str) -> Vec<Vec<String>> {
    let at = page
        .body
        .find(&format!("<table id=\"{id}\">"))
        .unwrap_or_else(|| panic!("no #{id} table in {}", page.body));
    let table = &page.body[at..];
    let body = &table[table.find("<tbody>").unwrap()..table.find("</tbody>").unwrap()];
    body.split("<tr>")
        .skip(1)
        .map(|row| {
            row.split("</t")
                .filter_map(|cell| cell.rfind('>').map(|i| cell[i + 1..].trim().to_string()))
                .filter(|c| !c.is_empty())
                .collect()
        })
        .collect()
}

fn has_form(page: &Page, step: &str) -> bool {
    page.body.contains(&format!("action=\"{ITEM}/{step}\""))
}

#[tokio::test]
async fn the_hods_queue_shows_the_submitted_result_and_other_reviewers_see_nothing() {
    let app = spawn_app().await;
    let mut hod = signed_in(&app, HOD).await;
    let empty = hod.get("/review").await;
    assert_eq!(empty.status, StatusCode::OK, "{}", empty.body);
    assert!(
        empty.body.contains("id=\"queue-empty\"")
            && text(&empty.body).contains("Nothing is waiting for your review."),
        "{}",
        empty.body
    );

    csc201_submitted(&app).await;
    let queue = hod.get("/review").await;
    assert_eq!(queue.status, StatusCode::OK);
    let words = text(&queue.body);
    assert!(!queue.body.contains("queue-empty"), "{}", queue.body);
    for want in [
        "1 course result is waiting for you",
        "CSC 201 Data Structures",
        "Term 2024/2025 first semester",
        "State submitted",
        "Lecturer Dr. Lecturer One (L001)",
        "Students 3",
        &format!("Pass rate {PASS_RATE}"),
        "Score sheets 1 uploaded; the latest processed",
        "Grade distribution of 3 students",
    ] {
        assert!(words.contains(want), "no '{want}' in: {words}");
    }
    assert_eq!(
        distribution(&queue),
        DISTRIBUTION.map(|(g, n)| (g.to_string(), n.to_string()))
    );
    assert!(
        queue
            .body
            .contains(&format!("href=\"{ITEM}\">Open CSC 201 to approve it</a>")),
        "{}",
        queue.body
    );

    // The result itself: its numbers, every student's record, the sheet, and the HOD's forms.
    let item = hod.get(ITEM).await;
    assert_eq!(item.status, StatusCode::OK, "{}", item.body);
    let words = text(&item.body);
    assert!(words.contains("State submitted"), "{words}");
    assert!(words.contains(&format!("Pass rate {PASS_RATE}")), "{words}");
    assert_eq!(
        distribution(&item),
        DISTRIBUTION.map(|(g, n)| (g.to_string(), n.to_string()))
    );
    assert_eq!(
        table_rows(&item, "records"),
        RECORDS.map(|r| r.map(String::from).to_vec())
    );
    let sheets = table_rows(&item, "sheets");
    assert_eq!(sheets.len(), 1, "{sheets:?}");
    assert!(sheets[0].contains(&"processed".to_string()), "{sheets:?}");
    assert!(
        sheets[0].contains(&"3 accepted, 0 rejected".to_string()),
        "{sheets:?}"
    );
    assert!(has_form(&item, "approve") && has_form(&item, "return"));
    assert!(!has_form(&item, "publish"), "{}", item.body);
    assert!(
        item.body.contains("<label for=\"reason\">"),
        "{}",
        item.body
    );

    // Another department's HOD and another faculty's dean have nothing, and may not open it;
    // the result's own dean has nothing yet either (it is the HOD's step).
    for who in [MTH_HOD, ARTS_DEAN, DEAN] {
        let mut b = signed_in(&app, who).await;
        let q = b.get("/review").await;
        assert_eq!(q.status, StatusCode::OK, "{who}: {}", q.body);
        assert!(q.body.contains("id=\"queue-empty\""), "{who}: {}", q.body);
        assert!(!q.body.contains("CSC 201"), "{who}: {}", q.body);
        let it = b.get(ITEM).await;
        if who == DEAN {
            assert_eq!(it.status, StatusCode::OK, "{}", it.body);
            assert!(it.body.contains("id=\"no-step\""), "{}", it.body);
            for step in ["approve", "return", "publish"] {
                assert!(!has_form(&it, step), "the dean may {step}: {}", it.body);
            }
        } else {
            assert_eq!(it.status, StatusCode::FORBIDDEN, "{who}: {}", it.body);
            assert!(it.body.contains("Not allowed"), "{who}: {}", it.body);
            assert!(!it.body.contains(STUDENTS[0]), "{who}: {}", it.body);
        }
    }

    // An address that names no course term is a 404 page saying what is wrong.
    let bad = hod.get("/review/CSC201/2024-2026/first").await;
    assert_eq!(bad.status, StatusCode::NOT_FOUND, "{}", bad.body);
    assert!(bad.body.contains("session"), "{}", bad.body);
}

#[tokio::test]
async fn a_return_needs_a_reason_and_sends_the_result_back_to_the_lecturer() {
    let app = spawn_app().await;
    csc201_submitted(&app).await;
    let mut hod = signed_in(&app, HOD).await;
    let item = hod.get(ITEM).await;
    let csrf = item.csrf();

    for blank in ["", "   "] {
        let res = hod
            .post(
                &format!("{ITEM}/return"),
                &[("csrf", &csrf), ("reason", blank)],
            )
            .await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.body);
        assert!(
            res.body
                .contains("A returned result needs a reason the lecturer can act on."),
            "{}",
            res.body
        );
        assert!(
            res.body.contains("role=\"alert\" id=\"reason-error\"")
                && res.body.contains("aria-describedby=\"reason-error\""),
            "{}",
            res.body
        );
        assert_eq!(csc201_state(&app).await, ("submitted".into(), None));
    }

    let reason = "Row 3's exam score looks short of a digit; check it against the script.";
    let res = hod
        .post(
            &format!("{ITEM}/return"),
            &[("csrf", &csrf), ("reason", reason)],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let to = res.location().unwrap().to_string();
    assert_eq!(
        to,
        "/review?done=returned&course=CSC201&session=2024-2025&semester=first"
    );
    assert_eq!(
        csc201_state(&app).await,
        ("returned".into(), Some(reason.into()))
    );

    let queue = hod.get(&to).await;
    assert_eq!(queue.status, StatusCode::OK);
    assert!(
        queue.body.contains(
            "CSC 201, 2024/2025 first semester has been returned to its lecturer with your reason."
        ),
        "{}",
        queue.body
    );
    assert!(queue.body.contains("id=\"queue-empty\""), "{}", queue.body);

    // Back with the lecturer: the HOD's page shows the reason and offers no step.
    let item = hod.get(ITEM).await;
    assert!(text(&item.body).contains("State returned to the lecturer"));
    assert!(
        item.body.contains("id=\"returned-reason\""),
        "{}",
        item.body
    );
    for step in ["approve", "return", "publish"] {
        assert!(!has_form(&item, step), "{step}: {}", item.body);
    }
    // The lecturer can submit it again, which the HOD's queue shows.
    moves_to(
        &app,
        &app.login(LECTURER).await,
        CSC201.0,
        "submit",
        "submitted",
    )
    .await;
    assert!(hod
        .get("/review")
        .await
        .body
        .contains("CSC 201 Data Structures"));
}

/// Opens CSC 201 from `who`'s queue and posts the `step` form, as the page gives it.
async fn take_step(app: &TestApp, who: &str, step: &str, done: &str, state: &str) {
    let mut b = signed_in(app, who).await;
    let queue = b.get("/review").await;
    assert!(
        queue.body.contains(&format!("href=\"{ITEM}\"")),
        "{who}'s queue lacks CSC 201: {}",
        queue.body
    );
    let item = b.get(ITEM).await;
    assert_eq!(item.status, StatusCode::OK, "{}", item.body);
    for other in ["approve", "publish"] {
        assert_eq!(has_form(&item, other), other == step, "{who}, {other}");
    }
    let res = b
        .post(&format!("{ITEM}/{step}"), &[("csrf", &item.csrf())])
        .await;
    assert_eq!(
        res.status,
        StatusCode::SEE_OTHER,
        "{who} {step}: {}",
        res.body
    );
    let to = res.location().unwrap().to_string();
    assert_eq!(
        to,
        format!("/review?done={done}&course=CSC201&session=2024-2025&semester=first")
    );
    let after = b.get(&to).await;
    assert!(
        after.body.contains(&format!(
            "CSC 201, 2024/2025 first semester has been {done}"
        )),
        "{}",
        after.body
    );
    assert_eq!(csc201_state(app).await.0, state, "after {who}'s {step}");
}

#[tokio::test]
async fn the_hod_then_the_dean_then_senate_approve_and_senate_publishes() {
    let app = spawn_app().await;
    csc201_submitted(&app).await;
    take_step(&app, HOD, "approve", "approved", "hod_approved").await;
    // The HOD's step is done: it has left their queue, and they may not approve twice.
    let mut hod = signed_in(&app, HOD).await;
    assert!(hod.get("/review").await.body.contains("id=\"queue-empty\""));
    let csrf = hod.get("/review").await.csrf();
    let again = hod
        .post(&format!("{ITEM}/approve"), &[("csrf", &csrf)])
        .await;
    assert_eq!(again.status, StatusCode::FORBIDDEN, "{}", again.body);
    assert!(
        again.body.contains("only the dean may approve"),
        "{}",
        again.body
    );
    assert_eq!(csc201_state(&app).await.0, "hod_approved");

    take_step(&app, DEAN, "approve", "approved", "faculty_approved").await;
    take_step(&app, SENATE, "approve", "approved", "senate_approved").await;

    // Senate sees it again, now to publish.
    let mut senate = signed_in(&app, SENATE).await;
    let queue = senate.get("/review").await;
    assert!(
        queue.body.contains("Open CSC 201 to publish it"),
        "{}",
        queue.body
    );
    take_step(&app, SENATE, "publish", "published", "published").await;
    assert!(senate
        .get("/review")
        .await
        .body
        .contains("id=\"queue-empty\""));

    // Publishing twice is refused with the service's words, and nothing changes.
    let csrf = senate.get("/review").await.csrf();
    let twice = senate
        .post(&format!("{ITEM}/publish"), &[("csrf", &csrf)])
        .await;
    assert_eq!(twice.status, StatusCode::CONFLICT, "{}", twice.body);
    assert!(
        twice.body.contains("cannot be published now"),
        "{}",
        twice.body
    );

    // The student now reads it.
    let mut ada = signed_in(&app, STUDENTS[0]).await;
    let results = ada.get("/results").await;
    assert!(
        results.body.contains("<th scope=\"row\">CSC 201</th>"),
        "{}",
        results.body
    );
}
