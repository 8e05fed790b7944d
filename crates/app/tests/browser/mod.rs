//! A minimal browser for the page tests: it keeps cookies by hand (name → value, as the
//! portal's `Set-Cookie` headers say, dropping those set with `Max-Age=0`), follows no
//! redirects on its own (so each test sees the 303s and their `Location`), and reads the
//! hidden CSRF field out of a form the way a browser would post it back.
#![allow(dead_code)] // each test binary uses a different part of this module

pub mod lecturer;

use reqwest::header::{HeaderMap, COOKIE, LOCATION, SET_COOKIE};
use reqwest::StatusCode;
use std::collections::BTreeMap;

pub struct Browser {
    base: String,
    client: reqwest::Client,
    pub cookies: BTreeMap<String, String>,
}

/// One answer: status, headers, the `Set-Cookie` lines and the body text.
pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub set_cookies: Vec<String>,
    pub body: String,
}

impl Page {
    pub fn location(&self) -> Option<&str> {
        self.headers.get(LOCATION).and_then(|v| v.to_str().ok())
    }

    /// The `Set-Cookie` line of cookie `name`, if this answer set it.
    pub fn set_cookie(&self, name: &str) -> Option<&str> {
        self.set_cookies
            .iter()
            .find(|c| c.starts_with(&format!("{name}=")))
            .map(String::as_str)
    }

    /// The value of the hidden `csrf` field of the first form on the page.
    pub fn csrf(&self) -> String {
        hidden(&self.body, "csrf").unwrap_or_else(|| panic!("no csrf field in: {}", self.body))
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("no {name} header"))
    }
}

/// The `value` of the first hidden input named `name`.
pub fn hidden(html: &str, name: &str) -> Option<String> {
    let at = html.find(&format!("name=\"{name}\" value=\""))?;
    let rest = &html[at + name.len() + 15..];
    Some(rest[..rest.find('"')?].to_string())
}

impl Browser {
    pub fn new(base: &str) -> Self {
        Browser {
            base: base.to_string(),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(std::time::Duration::from_secs(30))
                .build()
                .expect("an HTTP client"),
            cookies: BTreeMap::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn send(&mut self, req: reqwest::RequestBuilder) -> Page {
        let req = if self.cookies.is_empty() {
            req
        } else {
            req.header(COOKIE, self.cookie_header())
        };
        let res = req.send().await.expect("the portal answers");
        let status = res.status();
        let headers = res.headers().clone();
        let set_cookies: Vec<String> = headers
            .get_all(SET_COOKIE)
            .iter()
            .map(|v| v.to_str().expect("ASCII cookie").to_string())
            .collect();
        for line in &set_cookies {
            let first = line.split(';').next().unwrap();
            let (name, value) = first.split_once('=').unwrap();
            if line.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_string(), value.to_string());
            }
        }
        let body = res.text().await.expect("a body");
        Page {
            status,
            headers,
            set_cookies,
            body,
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let req = self
            .client
            .get(format!("{}{path}", self.base))
            .header("accept", "text/html");
        self.send(req).await
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let req = self.client.post(format!("{}{path}", self.base)).form(form);
        self.send(req).await
    }

    /// A form post with one extra request header (a proxy's `X-Forwarded-Proto`).
    pub async fn post_with(
        &mut self,
        path: &str,
        form: &[(&str, &str)],
        header: (&str, &str),
    ) -> Page {
        let req = self
            .client
            .post(format!("{}{path}", self.base))
            .header(header.0, header.1)
            .form(form);
        self.send(req).await
    }

    /// Fills in and sends the sign-in form; returns the answer to the POST.
    pub async fn sign_in(&mut self, username: &str, password: &str) -> Page {
        let form = self.get("/login").await;
        assert_eq!(form.status, StatusCode::OK, "{}", form.body);
        let csrf = form.csrf();
        self.post(
            "/login",
            &[
                ("username", username),
                ("password", password),
                ("next", "/"),
                ("csrf", &csrf),
            ],
        )
        .await
    }

    /// The session cookie's value, if the browser holds one.
    /// A browser signed in as `who`: the sign-in must be accepted (a 303 onwards).
    pub async fn signed_in(base: &str, who: &str, password: &str) -> Browser {
        let mut b = Browser::new(base);
        let res = b.sign_in(who, password).await;
        assert_eq!(
            res.status,
            StatusCode::SEE_OTHER,
            "sign-in of {who}: {}",
            res.body
        );
        b
    }

    pub fn session(&self) -> Option<&str> {
        self.cookies.get("eportal_session").map(String::as_str)
    }
}

/// One part of a multipart form, in the order it is sent.
pub enum Part<'a> {
    Text(&'a str, &'a str),
    /// Field name, file name, content.
    File(&'a str, &'a str, Vec<u8>),
}

impl Browser {
    /// A second browser holding the same cookies, so a test can send a request that would
    /// change this one's session (a new sign-in) without touching it.
    pub fn fork(&self) -> Browser {
        Browser {
            base: self.base.clone(),
            client: self.client.clone(),
            cookies: self.cookies.clone(),
        }
    }

    /// A `multipart/form-data` post, as a form with a file input sends it: the text fields,
    /// then the file (field name, file name, content type, bytes).
    pub async fn post_multipart(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        file: (&str, &str, &str, Vec<u8>),
    ) -> Page {
        let mut form = reqwest::multipart::Form::new();
        for (k, v) in fields {
            form = form.text(k.to_string(), v.to_string());
        }
        let (name, filename, content_type, bytes) = file;
        let part = reqwest::multipart::Part::bytes(bytes)
            .file_name(filename.to_string())
            .mime_str(content_type)
            .expect("a valid content type");
        self.send_form(path, form.part(name.to_string(), part))
            .await
    }

    /// A `multipart/form-data` post whose parts go in the order given (a token after the
    /// file, say).
    pub async fn post_parts(&mut self, path: &str, parts: Vec<Part<'_>>) -> Page {
        let mut form = reqwest::multipart::Form::new();
        for p in parts {
            form = match p {
                Part::Text(name, value) => form.text(name.to_string(), value.to_string()),
                Part::File(name, file_name, bytes) => form.part(
                    name.to_string(),
                    reqwest::multipart::Part::bytes(bytes).file_name(file_name.to_string()),
                ),
            };
        }
        self.send_form(path, form).await
    }

    async fn send_form(&mut self, path: &str, form: reqwest::multipart::Form) -> Page {
        let req = self
            .client
            .post(format!("{}{path}", self.base))
            .multipart(form);
        self.send(req).await
    }
}
