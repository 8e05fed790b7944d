//! The operator's endpoints and the OpenAPI document, on a running portal.

mod common;

use common::university::{ADMIN, CSC201, LECTURER, SENATE, STUDENTS};
use common::{json, spawn_app, PASSWORD};
use eportal::http::openapi::documented_operations;
use reqwest::{Method, StatusCode};
use serde_json::Value;

#[tokio::test]
async fn health_and_readiness() {
    let app = spawn_app().await;
    let (status, body) = json(app.get("/healthz", None).await).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::OK, Some("alive"))
    );
    let (status, body) = json(app.get("/readyz", None).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "ready");
    for engine in ["store", "cache", "queue"] {
        assert_eq!(body["checks"][engine], "ok", "{engine}: {body}");
    }
}

/// The value of a series with exactly these labels, if present.
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines().filter(|l| !l.starts_with('#')).find_map(|l| {
        let (series, value) = l.rsplit_once(' ')?;
        let (n, rest) = series.split_once('{').unwrap_or((series, ""));
        let all = labels
            .iter()
            .all(|(k, v)| rest.contains(&format!("{k}=\"{v}\"")));
        (n == name && all).then(|| value.parse().ok()).flatten()
    })
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_show_queue_depth() {
    let app = spawn_app().await;
    let token = app.login(STUDENTS[0]).await;
    let path = format!(
        "/api/v1/students/{}/results",
        common::path_matric(STUDENTS[0])
    );
    for _ in 0..3 {
        assert_eq!(app.get(&path, Some(&token)).await.status(), StatusCode::OK);
    }
    app.get("/api/v1/me", None).await;
    let res = app.get("/metrics", None).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let text = res.text().await.unwrap();
    let route = "/api/v1/students/{matric_no}/results";
    let ok = sample(
        &text,
        "eportal_http_requests_total",
        &[("route", route), ("method", "GET"), ("status", "200")],
    );
    assert_eq!(
        ok,
        Some(3.0),
        "requests are counted by matched route, not raw path:\n{text}"
    );
    let denied = sample(
        &text,
        "eportal_http_requests_total",
        &[("route", "/api/v1/me"), ("status", "401")],
    );
    assert_eq!(denied, Some(1.0), "{text}");
    let latency = sample(
        &text,
        "eportal_http_request_duration_seconds_count",
        &[("route", route)],
    );
    assert_eq!(latency, Some(3.0), "{text}");
    assert_eq!(
        sample(&text, "eportal_logins_total", &[("outcome", "ok")]),
        Some(1.0),
        "{text}"
    );
    for state in ["ready", "in_flight", "delayed", "dead"] {
        let depth = sample(&text, "eportal_queue_depth", &[("state", state)]);
        assert_eq!(depth, Some(0.0), "queue depth {state}:\n{text}");
    }
}

/// A path of the document with its parameters filled in from their examples.
fn fill(path: &str, op: &Value) -> String {
    let mut out = path.to_string();
    for p in op["parameters"].as_array().into_iter().flatten() {
        if p["in"] == "path" {
            let example = match &p["example"] {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            out = out.replace(&format!("{{{}}}", p["name"].as_str().unwrap()), &example);
        }
    }
    out
}

#[tokio::test]
async fn every_documented_operation_is_served() {
    let app = spawn_app().await;
    let res = app.get("/api/openapi.json", None).await;
    assert_eq!(res.status(), StatusCode::OK);
    let doc: Value = res.json().await.expect("the document is JSON");
    assert_eq!(doc["openapi"], "3.1.0");

    // Give the examples something to find: a sheet with id 1 for CSC201 in 2024-2025.
    let lecturer = app.login(LECTURER).await;
    let csv = format!("Matric No,CA,Exam\n{},30,40\n", STUDENTS[0]);
    let (status, body) = app.upload_csv(&lecturer, CSC201.0, &csv).await;
    assert_eq!(
        (status, body["id"].as_i64()),
        (StatusCode::ACCEPTED, Some(1)),
        "{body}"
    );

    let admin = app.login(ADMIN).await;
    let ops = documented_operations(&doc);
    let served: Vec<(String, String)> = eportal::http::routes()
        .into_iter()
        .map(|(m, p)| (m.as_str().to_string(), p))
        .collect();
    for route in &served {
        assert!(
            ops.contains(route),
            "{route:?} is served but not documented"
        );
    }
    for (method, path) in ops {
        let op = &doc["paths"][&path][method.to_ascii_lowercase()];
        let mut url = fill(&path, op);
        if path.contains("{token}") {
            // A results link is a secret the portal makes: no example in a document opens one.
            let token = common::results_link(&app, STUDENTS[0]).await;
            url = path.replace("{token}", &token);
        }
        let m = Method::from_bytes(method.as_bytes()).unwrap();
        // Signing out ends every session of the account: do it as someone else, so the
        // administrator's token keeps working for the operations after it.
        let token = if path.ends_with("/auth/logout") {
            app.login(SENATE).await
        } else {
            admin.clone()
        };
        let mut req = app.request(m, &url, Some(&token));
        if let Some(example) = op["requestBody"]["content"]["application/json"].get("example") {
            let mut body = example.clone();
            if path.ends_with("/login") {
                body["password"] = PASSWORD.into();
            }
            req = req.json(&body);
        }
        let res = req.send().await.unwrap();
        let status = res.status();
        let text = res.text().await.unwrap();
        // A verification code exists only once a document is issued: the example code is
        // answered by the route's own "no document has this code", not by a missing route.
        // Likewise an amendment exists only once one is asked for, a regrade once a policy
        // changes.
        let unknown_code = status == StatusCode::NOT_FOUND
            && ((path.contains("{code}") && text.contains("no document has this code"))
                || (path.starts_with("/api/v1/amendments/{id}")
                    && text.contains("amendment 1 does not exist"))
                || (path.starts_with("/api/v1/admin/regrades/{id}")
                    && text.contains("no regrade has id 1")));
        assert!(
            unknown_code
                || (status != StatusCode::NOT_FOUND && status != StatusCode::METHOD_NOT_ALLOWED),
            "{method} {url} answered {status}: {text}"
        );
        // Every documented answer of an operation is one the document lists.
        let listed = op["responses"].get(status.as_str()).is_some();
        assert!(
            listed,
            "{method} {path} answered {status}, which the document does not list: {text}"
        );
    }
}
