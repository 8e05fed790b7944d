//! Bad configuration is bad input: the real binary refuses an unknown `EPORTAL_*` variable or
//! file key (suggesting the nearest setting), names each setting as the operator wrote it,
//! takes host names in `--listen`, writes logs without colour codes when they do not go to a
//! terminal, logs refused requests, and serves `/metrics` on an address of its own.

mod cli_support;

use cli_support::{eportal, outcome, run, Child};
use std::io::{Read, Write};
use std::time::Duration;

/// A configuration problem: exit code 2 and the message (stderr).
fn config_error(cmd: &mut std::process::Command) -> String {
    let (code, out, err) = outcome(&run(cmd));
    assert_eq!(code, 2, "a configuration error exits 2: {out}{err}");
    err
}

#[test]
fn an_unknown_variable_is_named_with_the_nearest_setting() {
    let tmp = tempfile::tempdir().unwrap();
    let err = config_error(
        eportal(tmp.path())
            .env("EPORTAL_LIMITS__MAX_INFLIGHT", "100")
            .arg("migrate"),
    );
    assert!(
        err.contains("eportal: configuration error: EPORTAL_LIMITS__MAX_INFLIGHT is not a setting of eportal; did you mean EPORTAL_LIMITS__MAX_IN_FLIGHT?"),
        "{err}"
    );
    // Single underscores where two nest.
    let err = config_error(
        eportal(tmp.path())
            .env("EPORTAL_WORKER_CONCURRENCY", "4")
            .arg("migrate"),
    );
    assert!(
        err.contains("did you mean EPORTAL_WORKER__CONCURRENCY?"),
        "{err}"
    );
    // Variables read outside the configuration are not settings, and not errors.
    let (code, out, err) = outcome(&run(eportal(tmp.path())
        .env("EPORTAL_FAULT_ANYTHING", "1")
        .env("EPORTAL_TEST_POSTGRES_URL", "postgres://x")
        .arg("migrate")));
    assert_eq!(code, 0, "{out}{err}");
}

#[test]
fn an_unknown_file_key_is_named_with_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("eportal.toml");
    std::fs::write(&file, "[limits]\nmax_inflight = 100\n").unwrap();
    let err = config_error(
        eportal(tmp.path())
            .arg("--config")
            .arg(&file)
            .arg("migrate"),
    );
    assert!(
        err.contains(&format!(
            "{}: limits.max_inflight is not a setting of eportal; did you mean limits.max_in_flight?",
            file.display()
        )),
        "{err}"
    );
}

#[test]
fn a_bad_value_is_named_as_the_operator_wrote_it() {
    let tmp = tempfile::tempdir().unwrap();
    // From the environment: the variable.
    let err = config_error(
        eportal(tmp.path())
            .env("EPORTAL_LIMITS__MAX_IN_FLIGHT", "many")
            .arg("migrate"),
    );
    assert!(
        err.contains("EPORTAL_LIMITS__MAX_IN_FLIGHT: invalid type: found string \"many\""),
        "{err}"
    );
    let err = config_error(
        eportal(tmp.path())
            .env("EPORTAL_LIMITS__MAX_IN_FLIGHT", "0")
            .arg("migrate"),
    );
    assert!(
        err.contains("EPORTAL_LIMITS__MAX_IN_FLIGHT must be more than 0"),
        "{err}"
    );

    // From the file: the key and the file.
    let file = tmp.path().join("eportal.toml");
    std::fs::write(&file, "[limits]\nmax_in_flight = \"many\"\n").unwrap();
    let err = config_error(
        eportal(tmp.path())
            .arg("--config")
            .arg(&file)
            .arg("migrate"),
    );
    assert!(
        err.contains(&format!(
            "limits.max_in_flight in {}: invalid type: found string \"many\"",
            file.display()
        )),
        "{err}"
    );
    std::fs::write(&file, "[limits]\nmax_in_flight = 0\n").unwrap();
    let err = config_error(
        eportal(tmp.path())
            .arg("--config")
            .arg(&file)
            .arg("migrate"),
    );
    assert!(
        err.contains(&format!(
            "limits.max_in_flight in {} (EPORTAL_LIMITS__MAX_IN_FLIGHT) must be more than 0",
            file.display()
        )),
        "{err}"
    );
    // The environment wins over the file, and is named when it is the one at fault.
    let err = config_error(
        eportal(tmp.path())
            .env("EPORTAL_LIMITS__MAX_IN_FLIGHT", "0")
            .arg("--config")
            .arg(&file)
            .arg("migrate"),
    );
    assert!(
        err.contains("configuration error: EPORTAL_LIMITS__MAX_IN_FLIGHT must be more than 0"),
        "{err}"
    );
}

#[test]
fn a_cache_size_out_of_range_is_refused_with_its_range() {
    let tmp = tempfile::tempdir().unwrap();
    let err = config_error(
        eportal(tmp.path())
            .env("EPORTAL_CACHE_MAX_ENTRIES", "10")
            .arg("migrate"),
    );
    assert!(
        err.contains("EPORTAL_CACHE_MAX_ENTRIES (10) must be from 1000 to 100000000"),
        "{err}"
    );
}

#[test]
fn listen_takes_a_host_name() {
    let tmp = tempfile::tempdir().unwrap();
    let mut cmd = eportal(tmp.path());
    cmd.args(["serve", "--listen", "localhost:0"]);
    let mut child = Child::spawn(cmd, tmp.path().join("flag.log"));
    let url = child.wait_listening(Duration::from_secs(60));
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    child.stop(Duration::from_secs(10));

    let mut cmd = eportal(tmp.path());
    cmd.env("EPORTAL_LISTEN", "localhost:0").arg("serve");
    let mut child = Child::spawn(cmd, tmp.path().join("env.log"));
    let url = child.wait_listening(Duration::from_secs(60));
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    child.stop(Duration::from_secs(10));

    let err = config_error(eportal(tmp.path()).args(["serve", "--listen", "localhost"]));
    assert!(
        err.contains("'localhost' is not an address to listen on (host:port, e.g. 0.0.0.0:8080 or localhost:8080)"),
        "{err}"
    );
    let err = config_error(
        eportal(tmp.path())
            .env("EPORTAL_LISTEN", "no-such-host.invalid:80")
            .arg("migrate"),
    );
    assert!(
        err.contains("EPORTAL_LISTEN: 'no-such-host.invalid:80' is not an address to listen on"),
        "{err}"
    );
    let err = config_error(
        eportal(tmp.path())
            .env("EPORTAL_LISTEN", "8080")
            .arg("migrate"),
    );
    assert!(
        err.contains("EPORTAL_LISTEN: '8080' is not an address to listen on (host:port"),
        "{err}"
    );
}

#[test]
fn a_connection_cap_above_the_open_file_limit_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, out, err) = outcome(&run(eportal(tmp.path())
        .env("EPORTAL_LIMITS__MAX_CONNECTIONS", "100000000")
        .args(["serve", "--listen", "127.0.0.1:0"])));
    assert_eq!(code, 2, "a setting to fix: {out}{err}");
    assert!(
        err.contains("EPORTAL_LIMITS__MAX_CONNECTIONS=100000000 is more than this process can hold open: its open-file limit is"),
        "{err}"
    );
}

/// `GET path` over a fresh connection; the status line and the body.
fn get(base: &str, path: &str) -> (String, String) {
    let addr = base.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).expect("the portal accepts");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: portal\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).expect("an answer");
    let status = answer.lines().next().unwrap_or("").to_string();
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
    (status, body)
}

#[test]
fn logs_have_no_colour_codes_off_a_terminal_and_name_refused_requests() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("serve.log");
    let mut cmd = eportal(tmp.path());
    cmd.env("RUST_LOG", "info,eportal=debug")
        .args(["serve", "--listen", "127.0.0.1:0"]);
    let mut child = Child::spawn(cmd, log.clone());
    let base = child.wait_listening(Duration::from_secs(60));
    let (status, _) = get(&base, "/api/v1/me");
    assert!(status.starts_with("HTTP/1.1 401"), "{status}");
    child.stop(Duration::from_secs(10));
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        !text.contains('\u{1b}'),
        "no escape codes in a log file:\n{text}"
    );
    let refused = text
        .lines()
        .find(|l| l.contains("request refused"))
        .unwrap_or_else(|| panic!("the 401 is logged at debug:\n{text}"));
    for part in [
        "status=401",
        "route=\"/api/v1/me\"",
        "client=\"127.0.0.1\"",
        "method=GET",
    ] {
        assert!(refused.contains(part), "{part} in: {refused}");
    }
}

#[test]
fn metrics_listen_moves_metrics_off_the_public_address() {
    let tmp = tempfile::tempdir().unwrap();
    let mut cmd = eportal(tmp.path());
    cmd.env("EPORTAL_METRICS_LISTEN", "127.0.0.1:0")
        .args(["serve", "--listen", "127.0.0.1:0"]);
    let mut child = Child::spawn(cmd, tmp.path().join("serve.log"));
    let base = child.wait_listening(Duration::from_secs(60));
    let line = child.wait_for("metrics on http://", Duration::from_secs(10));
    let metrics = line[line.find("http://").unwrap()..]
        .trim_end_matches("/metrics")
        .to_string();
    let (status, _) = get(&base, "/metrics");
    assert!(status.starts_with("HTTP/1.1 404"), "public: {status}");
    let (status, body) = get(&metrics, "/metrics");
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    assert!(body.contains("eportal_http_requests_total"), "{body}");
    child.stop(Duration::from_secs(10));
}

#[test]
fn throttled_requests_are_logged_at_info_and_denials_only_at_debug() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("serve.log");
    let mut cmd = eportal(tmp.path());
    cmd.env("RUST_LOG", "info")
        .env("EPORTAL_LIMITS__RATE_LIMIT_PER_MINUTE", "1")
        .args(["serve", "--listen", "127.0.0.1:0"]);
    let mut child = Child::spawn(cmd, log.clone());
    let base = child.wait_listening(Duration::from_secs(60));
    // The limiter counts per wall-clock minute: both requests must fall in the same one.
    let into_minute = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        % 60;
    if into_minute > 55 {
        std::thread::sleep(Duration::from_secs(61 - into_minute));
    }
    let (first, _) = get(&base, "/api/v1/me");
    let (second, _) = get(&base, "/api/v1/me");
    assert!(first.starts_with("HTTP/1.1 401"), "{first}");
    assert!(second.starts_with("HTTP/1.1 429"), "{second}");
    child.stop(Duration::from_secs(10));
    let text = std::fs::read_to_string(&log).unwrap();
    let refused: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("request refused"))
        .collect();
    assert_eq!(refused.len(), 1, "only the 429 at info:\n{text}");
    assert!(
        refused[0].contains(" INFO ") && refused[0].contains("status=429"),
        "{}",
        refused[0]
    );
}
