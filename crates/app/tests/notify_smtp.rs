//! Results links by email: the portal configured with `smtp://127.0.0.1:PORT` sends each
//! student of a published course a message through an SMTP server this test starts (a small
//! sink that speaks enough of RFC 5321: EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT) and keeps
//! what it was given; the test checks the recipients and that each link opens its student's
//! results. A relay that cannot be reached fails no publication: the failures are counted.

mod common;

use common::courses::publish;
use common::university::{CSC201, STUDENTS};
use common::{json, spawn_app_with, TestApp};
use reqwest::StatusCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

const DOMAIN: &str = "students.example.edu";

/// One message as the sink received it.
#[derive(Debug, Clone)]
struct Mail {
    from: String,
    to: Vec<String>,
    data: String,
}

type Inbox = Arc<Mutex<Vec<Mail>>>;

/// Starts the sink on a port of its own; returns its port and what it receives.
async fn smtp_sink() -> (u16, Inbox) {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the sink");
    let port = listener.local_addr().unwrap().port();
    let inbox: Inbox = Arc::default();
    let kept = inbox.clone();
    tokio::spawn(async move {
        while let Ok((conn, _)) = listener.accept().await {
            let inbox = kept.clone();
            tokio::spawn(async move {
                if let Err(e) = session(conn, inbox).await {
                    eprintln!("smtp sink: {e}");
                }
            });
        }
    });
    (port, inbox)
}

/// The address inside `MAIL FROM:<…>` / `RCPT TO:<…>`.
fn path_of(line: &str) -> String {
    let start = line.find('<').map_or(0, |i| i + 1);
    let end = line.rfind('>').unwrap_or(line.len());
    line[start..end].to_string()
}

async fn session(conn: TcpStream, inbox: Inbox) -> std::io::Result<()> {
    let (r, mut w) = conn.into_split();
    let mut lines = BufReader::new(r).lines();
    w.write_all(b"220 sink.test ESMTP test sink\r\n").await?;
    let (mut from, mut to) = (String::new(), Vec::new());
    while let Some(line) = lines.next_line().await? {
        let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" => b"250-sink.test greets you\r\n250 8BITMIME\r\n",
            "HELO" => b"250 sink.test\r\n",
            "MAIL" => {
                from = path_of(&line);
                to.clear();
                b"250 2.1.0 OK\r\n"
            }
            "RCPT" => {
                to.push(path_of(&line));
                b"250 2.1.5 OK\r\n"
            }
            "DATA" => {
                w.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await?;
                let mut data = String::new();
                while let Some(l) = lines.next_line().await? {
                    if l == "." {
                        break;
                    }
                    // Dot-stuffing (RFC 5321 4.5.2).
                    data.push_str(l.strip_prefix('.').unwrap_or(&l));
                    data.push('\n');
                }
                inbox.lock().unwrap().push(Mail {
                    from: from.clone(),
                    to: std::mem::take(&mut to),
                    data,
                });
                b"250 2.0.0 queued\r\n"
            }
            "RSET" | "NOOP" => b"250 OK\r\n",
            "QUIT" => {
                w.write_all(b"221 bye\r\n").await?;
                return Ok(());
            }
            _ => b"502 5.5.2 not implemented\r\n",
        };
        w.write_all(reply).await?;
    }
    Ok(())
}

/// A message's text, its transfer encoding undone (lettre chooses 7bit, quoted-printable or
/// base64 by the text's lines).
fn body_text(data: &str) -> String {
    let (head, body) = data
        .split_once("\n\n")
        .expect("headers, a blank line, the body");
    let head = head.to_ascii_lowercase();
    if head.contains("content-transfer-encoding: base64") {
        use base64::Engine as _;
        let joined: String = body.split_whitespace().collect();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(joined)
            .expect("base64 body");
        return String::from_utf8(bytes).expect("UTF-8 text");
    }
    if head.contains("content-transfer-encoding: quoted-printable") {
        let mut out = Vec::new();
        let soft = body.replace("=\n", "");
        let b = soft.as_bytes();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'=' && i + 2 < b.len() {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).expect("=XX"));
                i += 3;
            } else {
                out.push(b[i]);
                i += 1;
            }
        }
        return String::from_utf8(out).expect("UTF-8 text");
    }
    body.to_string()
}

/// The sink's messages once `n` have arrived (waits up to 20 s).
async fn received(inbox: &Inbox, n: usize) -> Vec<Mail> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let got = inbox.lock().unwrap().clone();
        if got.len() >= n || Instant::now() > deadline {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn metric(app: &TestApp, outcome: &str) -> u64 {
    let text = app.get("/metrics", None).await.text().await.unwrap();
    let key = format!("eportal_notifications_total{{outcome=\"{outcome}\"}}");
    text.lines()
        .find(|l| l.starts_with(&key))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn each_student_is_emailed_a_link_that_opens_their_results() {
    let (port, inbox) = smtp_sink().await;
    let app = spawn_app_with(|c| {
        c.notify.smtp_url = format!("smtp://127.0.0.1:{port}");
        c.notify.email_domain = DOMAIN.into();
        c.notify.from = "Results Office <results@example.edu>".into();
        c.links.base_url = "https://portal.example.edu/".into();
    })
    .await;
    publish(&app, CSC201.0).await;
    let mails = received(&inbox, STUDENTS.len()).await;
    assert_eq!(
        mails.len(),
        STUDENTS.len(),
        "one message per student: {mails:?}"
    );

    let mut recipients: Vec<String> = mails.iter().flat_map(|m| m.to.clone()).collect();
    recipients.sort();
    let expected: Vec<String> = STUDENTS
        .iter()
        .map(|s| format!("{}@{DOMAIN}", s.to_ascii_lowercase()))
        .collect();
    assert_eq!(recipients, expected);

    for mail in &mails {
        assert_eq!(mail.from, "results@example.edu");
        assert!(
            mail.data.contains("Subject: Your result in CSC 201"),
            "{}",
            mail.data
        );
        let text = body_text(&mail.data);
        let prefix = "https://portal.example.edu/r/";
        let at = text
            .find(prefix)
            .unwrap_or_else(|| panic!("a link in: {text}"))
            + prefix.len();
        let token = text[at..].split_whitespace().next().unwrap();
        let (status, body) = json(app.get(&format!("/api/v1/r/{token}"), None).await).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let owner = format!(
            "{}@{DOMAIN}",
            body["matric_no"].as_str().unwrap().to_ascii_lowercase()
        );
        assert_eq!(
            mail.to,
            vec![owner],
            "the link opens its recipient's results"
        );
    }
    assert_eq!(metric(&app, "sent").await, 3);
    assert_eq!(metric(&app, "failed").await, 0);
}

#[tokio::test]
async fn a_relay_that_cannot_be_reached_fails_no_publication() {
    // A port that was just free: nothing listens there.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let app = spawn_app_with(|c| {
        c.notify.smtp_url = format!("smtp://127.0.0.1:{port}");
        c.notify.email_domain = DOMAIN.into();
        c.notify.timeout_secs = 2;
    })
    .await;
    // `publish` asserts every step, the publication included, answers 200.
    publish(&app, CSC201.0).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while metric(&app, "failed").await < 3 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(metric(&app, "failed").await, 3);
    assert_eq!(metric(&app, "sent").await, 0);
}
