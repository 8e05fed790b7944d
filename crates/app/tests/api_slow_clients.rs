//! Slow and greedy clients cannot exhaust the portal: two thousand half-sent requests (silent
//! connections, headers never finished, bodies never finished) are held while a signed-in
//! student keeps reading results, and are closed by the header and body timeouts; an idle
//! kept-alive connection is closed; beyond the connection cap new connections are closed at
//! once while earlier ones are still served; the bodies held in memory are bounded in total;
//! a student's upload is refused on its headers, before the file is sent; a flooding client is
//! refused by its own rate limit while another is served.
//!
//! The clients here speak raw TCP, because an HTTP library will not leave a request half sent.

mod common;

use common::university::{LECTURER, STUDENTS};
use common::{json, path_matric, spawn_app_with};
use futures_util::future::join_all;
use reqwest::StatusCode;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long one results read may take while the portal holds the half-sent connections (a
/// debug build on a shared two-core machine; an idle read takes a few milliseconds).
const READ_BOUND: Duration = Duration::from_secs(2);

async fn connect(addr: &str) -> TcpStream {
    TcpStream::connect(addr).await.expect("the portal accepts")
}

/// Reads until the peer closes the connection (or `within` passes); returns what was read,
/// or `None` if the connection was still open at the end.
async fn read_until_closed(s: &mut TcpStream, within: Duration) -> Option<String> {
    let mut got = Vec::new();
    let deadline = tokio::time::Instant::now() + within;
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(String::from_utf8_lossy(&got).into_owned()),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_sent_requests_do_not_starve_a_signed_in_student() {
    // Both ends of 2,000 connections live in this process.
    let open_files = eportal::http::serve::raise_open_file_limit();
    assert!(
        open_files >= 5000,
        "this test needs 5000 open files (ulimit -n); the limit is {open_files}"
    );
    const HALF: usize = 1000;
    let timeout = Duration::from_secs(10);
    let app = spawn_app_with(|c| {
        c.limits.header_timeout_ms = timeout.as_millis() as u64;
        c.limits.body_timeout_ms = timeout.as_millis() as u64;
        // Every half-sent request comes from 127.0.0.1: with the rate limit on, most would be
        // refused by it at once. This test is about what the timeouts do.
        c.limits.rate_limit_per_minute = 0;
    })
    .await;
    let addr = app.base.trim_start_matches("http://").to_string();
    let student = app.login(STUDENTS[0]).await;
    let results = format!("/api/v1/students/{}/results", path_matric(STUDENTS[0]));

    // The same reads on the idle portal, for comparison in the output.
    let mut idle = Duration::ZERO;
    for _ in 0..10 {
        let started = Instant::now();
        let (status, _) = json(app.get(&results, Some(&student)).await).await;
        assert_eq!(status, StatusCode::OK);
        idle = idle.max(started.elapsed());
    }

    let opened = Instant::now();
    // In waves of 200, never more than the listen backlog at once (beyond it the kernel
    // delays the handshake, and the test would measure the kernel's retries).
    let at = addr.as_str();
    let mut headers = Vec::new();
    let mut bodies = Vec::new();
    for wave in 0..HALF / 100 {
        // Half of these send part of their headers, half nothing at all.
        let h = join_all((0..100).map(|i| async move {
            let mut s = connect(at).await;
            if (wave + i) % 2 == 0 {
                s.write_all(b"GET /api/v1/me HTTP/1.1\r\nHost: portal\r\nX-Slow: ")
                    .await
                    .unwrap();
            }
            s
        }));
        let b = join_all((0..100).map(|_| async move {
            let mut s = connect(at).await;
            s.write_all(
                b"POST /api/v1/auth/login HTTP/1.1\r\nHost: portal\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"username\":",
            )
            .await
            .unwrap();
            s
        }));
        let (h, b) = tokio::join!(h, b);
        headers.extend(h);
        bodies.extend(b);
    }
    eprintln!(
        "{} half-sent requests opened in {:?}",
        2 * HALF,
        opened.elapsed()
    );

    // The student reads as usual while all of them are held (more than the 512 in-flight
    // slots: half-sent bodies must not hold any).
    let mut slowest = Duration::ZERO;
    for _ in 0..10 {
        let started = Instant::now();
        let (status, body) = json(app.get(&results, Some(&student)).await).await;
        let took = started.elapsed();
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(
            took < READ_BOUND,
            "a results read took {took:?} beside {} half-sent requests",
            2 * HALF
        );
        slowest = slowest.max(took);
    }
    assert!(
        opened.elapsed() < timeout,
        "the reads must happen while the half-sent requests are still held ({:?})",
        opened.elapsed()
    );
    eprintln!(
        "slowest of 10 results reads beside {} half-sent requests: {slowest:?} (idle: {idle:?})",
        2 * HALF
    );

    // Then the timeouts close every one of them.
    let grace = timeout + Duration::from_secs(20);
    let closed = join_all(
        headers
            .iter_mut()
            .map(|s| read_until_closed(s, grace))
            .chain(bodies.iter_mut().map(|s| read_until_closed(s, grace))),
    )
    .await;
    let (h, b) = closed.split_at(HALF);
    let open_headers = h.iter().filter(|c| c.is_none()).count();
    let open_bodies = b.iter().filter(|c| c.is_none()).count();
    assert_eq!(
        (open_headers, open_bodies),
        (0, 0),
        "connections still open {grace:?} after the timeouts"
    );
    for answer in b.iter().flatten() {
        assert!(
            answer.starts_with("HTTP/1.1 408"),
            "an unfinished body is answered 408: {answer}"
        );
        assert!(
            answer.contains("did not arrive within 10000 ms"),
            "{answer}"
        );
    }
    // A fresh client: the pooled connections idled past the header timeout and are closed.
    let fresh = reqwest::Client::new();
    let metrics = fresh
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(&format!(
            "eportal_http_refused_total{{reason=\"body_timeout\"}} {HALF}"
        )),
        "{metrics}"
    );
    // And the portal still answers.
    let res = fresh
        .get(app.url(&results))
        .bearer_auth(&student)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_idle_kept_alive_connection_is_closed() {
    let app = spawn_app_with(|c| c.limits.header_timeout_ms = 1000).await;
    let addr = app.base.trim_start_matches("http://").to_string();
    let mut s = connect(&addr).await;
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: portal\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 4096];
    let n = s.read(&mut buf).await.unwrap();
    let answer = String::from_utf8_lossy(&buf[..n]).to_string();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        !answer.to_lowercase().contains("connection: close"),
        "kept alive: {answer}"
    );
    let idle = Instant::now();
    let rest = read_until_closed(&mut s, Duration::from_secs(5))
        .await
        .expect("an idle kept-alive connection is closed");
    let after = idle.elapsed();
    assert!(
        after >= Duration::from_millis(800) && after < Duration::from_secs(3),
        "closed after {after:?} of idleness, with the 1 s timeout ({rest:?})"
    );
}

#[tokio::test]
async fn beyond_the_connection_cap_new_connections_are_closed_at_once() {
    const CAP: usize = 20;
    let app = spawn_app_with(|c| {
        c.limits.max_connections = CAP;
        c.limits.header_timeout_ms = 30_000;
    })
    .await;
    let addr = app.base.trim_start_matches("http://").to_string();
    let mut held = Vec::new();
    for _ in 0..CAP {
        held.push(connect(&addr).await);
    }
    // Let the portal accept them all before the one too many arrives.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let mut extra = connect(&addr).await;
    let _ = extra
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: portal\r\n\r\n")
        .await;
    let started = Instant::now();
    let answer = read_until_closed(&mut extra, Duration::from_secs(5))
        .await
        .expect("the connection beyond the cap is closed");
    assert_eq!(answer, "", "nothing is served beyond the cap");
    assert!(started.elapsed() < Duration::from_secs(2), "closed at once");

    // The connections already open are still served.
    let first = &mut held[0];
    first
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: portal\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let answer = read_until_closed(first, Duration::from_secs(5))
        .await
        .expect("an answer, then the connection closes");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

    // Its slot is free again once it has closed.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let res = app.get("/healthz", None).await;
    assert_eq!(res.status(), StatusCode::OK);
    let metrics = app.get("/metrics", None).await.text().await.unwrap();
    assert!(
        metrics.contains("eportal_http_refused_total{reason=\"connections\"} 1"),
        "{metrics}"
    );
}

/// Sends an upload's headers announcing a 5 MB body, and no body.
async fn upload_headers(addr: &str, token: &str) -> TcpStream {
    let mut s = connect(addr).await;
    let head = format!(
        "POST /api/v1/score-sheets?course=CSC201&session=2024-2025&semester=first HTTP/1.1\r\nHost: portal\r\nAuthorization: Bearer {token}\r\nContent-Type: text/csv\r\nContent-Length: {}\r\n\r\n",
        5 * 1024 * 1024
    );
    s.write_all(head.as_bytes()).await.unwrap();
    s
}

#[tokio::test]
async fn a_students_upload_is_refused_before_its_body_is_sent() {
    let app = spawn_app_with(|c| c.limits.body_timeout_ms = 3000).await;
    let addr = app.base.trim_start_matches("http://").to_string();
    let student = app.login(STUDENTS[0]).await;
    let lecturer = app.login(LECTURER).await;

    let mut s = upload_headers(&addr, &student).await;
    let answer = read_until_closed(&mut s, Duration::from_secs(2))
        .await
        .expect("an answer and a closed connection, though no byte of the file was sent");
    assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
    assert!(
        answer.contains("only a course's lecturer may upload its score sheet"),
        "{answer}"
    );

    // A lecturer's upload is waited for (the gate is about who asks), up to the body timeout.
    let mut s = upload_headers(&addr, &lecturer).await;
    assert_eq!(
        read_until_closed(&mut s, Duration::from_millis(1000)).await,
        None,
        "a lecturer's upload is given time to arrive"
    );
    let answer = read_until_closed(&mut s, Duration::from_secs(5))
        .await
        .expect("closed after the body timeout");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
}

#[tokio::test]
async fn metrics_can_have_an_address_of_their_own() {
    let app = spawn_app_with(|c| c.metrics_listen = Some("127.0.0.1:0".parse().unwrap())).await;
    let res = app.get("/metrics", None).await;
    assert_eq!(
        res.status(),
        StatusCode::NOT_FOUND,
        "not on the public address"
    );
    let at = app.running.metrics_addr.expect("a metrics address");
    let text = app
        .client
        .get(format!("http://{at}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains(
            "eportal_http_requests_total{method=\"GET\",route=\"unmatched\",status=\"404\"} 1"
        ),
        "the public address's requests are counted: {text}"
    );
    // Only /metrics is there.
    let res = app
        .client
        .get(format!("http://{at}/api/v1/me"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooding_client_is_refused_by_its_own_limit_while_others_are_served() {
    const LIMIT: u64 = 20;
    // One in-flight slot: if the flood took slots before its own limit refused it, the
    // other student would be shed with 503.
    let app = spawn_app_with(|c| {
        c.limits.rate_limit_per_minute = LIMIT;
        c.limits.max_in_flight = 1;
    })
    .await;
    // The limiter counts per wall-clock minute: start well inside one, so the flood's
    // allowance is not renewed halfway through.
    let into_minute = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        % 60;
    if into_minute > 45 {
        tokio::time::sleep(Duration::from_secs(61 - into_minute)).await;
    }
    let flooder = app.login(STUDENTS[1]).await;
    let reader = app.login(STUDENTS[0]).await;
    let results = format!("/api/v1/students/{}/results", path_matric(STUDENTS[0]));

    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flood = {
        let (client, url, stop) = (app.client.clone(), app.url("/api/v1/me"), stop.clone());
        tokio::spawn(async move {
            let mut seen = std::collections::BTreeMap::<u16, usize>::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let burst =
                    join_all((0..64).map(|_| client.get(&url).bearer_auth(&flooder).send())).await;
                for res in burst {
                    *seen.entry(res.unwrap().status().as_u16()).or_default() += 1;
                }
            }
            seen
        })
    };
    // Once the flood has spent its allowance, it is all 429.
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Fewer than its own allowance of LIMIT.
    for i in 0..15 {
        let (status, body) = json(app.get(&results, Some(&reader)).await).await;
        assert_eq!(status, StatusCode::OK, "read {i} during the flood: {body}");
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let seen = flood.await.unwrap();
    let refused = seen.get(&429).copied().unwrap_or(0);
    let served = seen.get(&200).copied().unwrap_or(0);
    // Only the flood's own allowance ever reached the in-flight gate (its first requests may
    // have been shed there, competing with each other for the one slot); all the rest were
    // refused by its own limit.
    let shed = seen.get(&503).copied().unwrap_or(0);
    assert!(
        refused > 100 && (served + shed) as u64 <= LIMIT,
        "the flood: {seen:?}"
    );
    assert_eq!(
        refused + served + shed,
        seen.values().sum::<usize>(),
        "{seen:?}"
    );
    eprintln!("the flood's answers by status: {seen:?}");
}

/// Starts a sign-in announcing a 60 KiB body and sends only its first 10 KiB.
async fn big_half_body(addr: &str) -> TcpStream {
    let mut s = connect(addr).await;
    let head = format!(
        "POST /api/v1/auth/login HTTP/1.1\r\nHost: portal\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        60 * 1024
    );
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(&[b' '; 10 * 1024]).await.unwrap();
    s
}

#[tokio::test]
async fn bodies_held_in_memory_are_bounded_in_total() {
    let app = spawn_app_with(|c| {
        c.limits.max_upload_bytes = 16 * 1024;
        c.limits.max_buffered_bytes = 16 * 1024;
    })
    .await;
    let addr = app.base.trim_start_matches("http://").to_string();
    let first = big_half_body(&addr).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    // 10 KiB held of 16: another 10 KiB body does not fit, and is refused at once.
    let mut second = big_half_body(&addr).await;
    let answer = read_until_closed(&mut second, Duration::from_secs(2))
        .await
        .expect("refused at once");
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("receiving too much at once"), "{answer}");
    assert!(answer.to_lowercase().contains("retry-after: 1"), "{answer}");

    // A small body still fits beside it.
    let token = app.login(STUDENTS[0]).await;
    assert!(!token.is_empty());

    // When the first client goes away, its share is given back.
    drop(first);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut third = big_half_body(&addr).await;
    assert_eq!(
        read_until_closed(&mut third, Duration::from_millis(1000)).await,
        None,
        "the body is waited for again"
    );
}
