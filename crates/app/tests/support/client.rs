//! What a lecturer's browser or script does against the portal: sign in, upload a sheet, and
//! — like any careful client — send an upload again when the answer never came or said "try
//! later". Sending the same bytes again is safe by design (it is the same sheet), so a retry
//! can never create a second sheet; the tests check that too.
//!
//! Only transient answers are retried; a refusal (400, 401, 403, 413, …) fails the test at
//! once with the portal's explanation.

use reqwest::StatusCode;
use serde_json::Value;
use std::time::{Duration, Instant};

/// How long one sign-in or upload keeps being retried.
const RETRY_FOR: Duration = Duration::from_secs(60);

#[derive(Clone)]
pub struct Portal {
    pub base: String,
    pub http: reqwest::Client,
}

/// Outcome of one attempt: done, or worth another try (a refusal panics on the spot).
enum Attempt<T> {
    Done(T),
    Again(String),
}

fn transient(status: StatusCode) -> bool {
    matches!(
        status,
        StatusCode::TOO_MANY_REQUESTS
            | StatusCode::BAD_GATEWAY
            | StatusCode::SERVICE_UNAVAILABLE
            | StatusCode::GATEWAY_TIMEOUT
    )
}

pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("an HTTP client")
}

impl Portal {
    pub fn new(base: String) -> Portal {
        Portal {
            base,
            http: http_client(),
        }
    }

    async fn retrying<T, F, Fut>(&self, what: &str, mut f: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Attempt<T>>,
    {
        let deadline = Instant::now() + RETRY_FOR;
        let mut last = String::new();
        while Instant::now() < deadline {
            match f().await {
                Attempt::Done(v) => return v,
                Attempt::Again(why) => last = why,
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        panic!(
            "{what}: no success within {} s; last answer: {last}",
            RETRY_FOR.as_secs()
        )
    }

    /// Signs in and returns the bearer token.
    pub async fn login(&self, username: &str, password: &str) -> String {
        let url = format!("{}/api/v1/auth/login", self.base);
        let body = serde_json::json!({ "username": username, "password": password });
        self.retrying(&format!("sign-in of {username}"), || async {
            match self.http.post(&url).json(&body).send().await {
                Err(e) => Attempt::Again(e.to_string()),
                Ok(res) => {
                    let status = res.status();
                    let text = res.text().await.unwrap_or_default();
                    if status == StatusCode::OK {
                        let v: Value = serde_json::from_str(&text).expect("login answers JSON");
                        Attempt::Done(v["token"].as_str().expect("a token").to_string())
                    } else if transient(status) {
                        Attempt::Again(format!("{status}: {text}"))
                    } else {
                        panic!("sign-in of {username} refused: {status}: {text}")
                    }
                }
            }
        })
        .await
    }

    /// Uploads a CSV sheet (raw body) until it is accepted; returns the sheet id and whether
    /// this upload created it.
    pub async fn upload(&self, token: &str, label: &str, query: &str, csv: &str) -> (i64, bool) {
        let url = format!("{}/api/v1/score-sheets?{query}", self.base);
        self.retrying(&format!("upload of {label}"), || async {
            let sent = self
                .http
                .post(&url)
                .bearer_auth(token)
                .header("content-type", "text/csv")
                .body(csv.to_string())
                .send()
                .await;
            match sent {
                Err(e) => Attempt::Again(e.to_string()),
                Ok(res) => {
                    let status = res.status();
                    let text = res.text().await.unwrap_or_default();
                    if status == StatusCode::ACCEPTED {
                        let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| {
                            panic!("upload of {label}: 202 without JSON ({e}): {text}")
                        });
                        let id = v["id"]
                            .as_i64()
                            .unwrap_or_else(|| panic!("no sheet id: {text}"));
                        Attempt::Done((id, v["created"].as_bool().unwrap_or(false)))
                    } else if transient(status) {
                        Attempt::Again(format!("{status}: {text}"))
                    } else {
                        panic!("upload of {label} refused: {status}: {text}")
                    }
                }
            }
        })
        .await
    }

    /// Uploads a CSV sheet once, with no retry: the status and the body as text.
    pub async fn upload_once(&self, token: &str, query: &str, csv: &str) -> (StatusCode, String) {
        let res = self
            .http
            .post(format!("{}/api/v1/score-sheets?{query}", self.base))
            .bearer_auth(token)
            .header("content-type", "text/csv")
            .body(csv.to_string())
            .send()
            .await
            .unwrap_or_else(|e| panic!("the portal at {} does not answer: {e}", self.base));
        let status = res.status();
        (status, res.text().await.unwrap_or_default())
    }

    /// GET `path`, returning the status (or the transport error).
    pub async fn status_of(&self, path: &str) -> Result<StatusCode, String> {
        self.http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .map(|r| r.status())
            .map_err(|e| e.to_string())
    }
}
