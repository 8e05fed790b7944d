//! A small WebDriver client for the browser tests: starts Debian's `chromedriver` on a free
//! loopback port, opens one headless Chromium session (desktop 1280×800 or phone 360×740 with
//! a mobile user agent), and drives it over WebDriver's HTTP/JSON protocol with reqwest:
//! navigate, find by CSS selector, type, click, read text, and save PNG screenshots under
//! `target/browser-screenshots/<test>/NN-name.png`.
//!
//! It must never skip: if chromedriver or Chromium is missing the test fails and names
//! `./scripts/browser`, which installs them. It must never reach the network either: Chromium
//! is started with the flags that keep it from calling home (the machines that run the tests
//! may have none, and Chromium then hangs on those connections).
#![allow(dead_code)] // each test binary uses its own part of this module

mod launch;

use launch::{chromedriver_path, chromium_path, free_port, target_dir};
#[allow(unused_imports)] // each test binary uses its own part of this module
pub use launch::{png_size, Window, CHROMIUM_FLAGS, PHONE_USER_AGENT};

use base64::Engine as _;
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The key W3C WebDriver uses for an element reference.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// One chromedriver process and its one Chromium session. Dropping it ends the session
/// (which closes Chromium) and kills the driver.
pub struct Browser {
    driver: Child,
    port: u16,
    session: String,
    http: reqwest::Client,
    window: Window,
    shots: PathBuf,
    shot_no: u32,
    profile: tempfile::TempDir,
}

/// A reference to an element of the current page.
#[derive(Clone, Debug)]
pub struct Element(String);

impl Browser {
    /// Starts chromedriver and opens a session; screenshots go to
    /// `target/browser-screenshots/<test>/` (emptied first).
    pub async fn start(test: &str, window: Window) -> Browser {
        let driver_bin = chromedriver_path();
        let chromium = chromium_path();
        for (bin, pkg) in [(&driver_bin, "chromium-driver"), (&chromium, "chromium")] {
            assert!(
                bin.is_file(),
                "{} is not installed (Debian package {pkg}): run ./scripts/browser",
                bin.display()
            );
        }
        let port = free_port();
        let driver = Command::new(&driver_bin)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {}: {e} (run ./scripts/browser)",
                    driver_bin.display()
                )
            });
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("an HTTP client");
        let profile = tempfile::tempdir().expect("an empty Chromium profile directory");
        let shots = target_dir().join("browser-screenshots").join(test);
        let _ = std::fs::remove_dir_all(&shots);
        std::fs::create_dir_all(&shots).expect("the screenshot folder");

        let mut b = Browser {
            driver,
            port,
            session: String::new(),
            http,
            window,
            shots,
            shot_no: 0,
            profile,
        };
        b.wait_ready().await;
        b.session = b.new_session(&chromium).await;
        b
    }

    async fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let url = format!("http://127.0.0.1:{}/status", self.port);
            if let Ok(res) = self.http.get(&url).send().await {
                if let Ok(v) = res.json::<Value>().await {
                    if v["value"]["ready"] == true {
                        return;
                    }
                }
            }
            if let Ok(Some(status)) = self.driver.try_wait() {
                panic!("chromedriver exited at start ({status}); check ./scripts/browser check");
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver is not ready on port {} after 20 s",
                self.port
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn new_session(&self, chromium: &Path) -> String {
        let caps = launch::capabilities(self.window, chromium, self.profile.path());
        let url = format!("http://127.0.0.1:{}/session", self.port);
        let res = self
            .http
            .post(&url)
            .json(&caps)
            .send()
            .await
            .expect("chromedriver answers");
        let v: Value = res.json().await.expect("a JSON answer");
        v["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("Chromium did not start a session: {v}"))
            .to_string()
    }

    /// A WebDriver command of this session; returns its `value`, panics on a WebDriver error.
    async fn cmd(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!(
            "http://127.0.0.1:{}/session/{}{path}",
            self.port, self.session
        );
        let mut req = self.http.request(method.clone(), &url);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = res.status();
        let v: Value = res
            .json()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: not JSON: {e}"));
        if !status.is_success() {
            panic!(
                "{method} {path}: WebDriver {status} {}: {}",
                v["value"]["error"], v["value"]["message"]
            );
        }
        v["value"].clone()
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        self.cmd(reqwest::Method::POST, path, Some(body)).await
    }

    async fn get(&self, path: &str) -> Value {
        self.cmd(reqwest::Method::GET, path, None).await
    }

    pub fn window(&self) -> Window {
        self.window
    }

    /// Where this test's screenshots are saved.
    pub fn screenshot_dir(&self) -> &Path {
        &self.shots
    }

    /// Opens `url` and waits until it has loaded.
    pub async fn goto(&self, url: &str) {
        self.post("/url", json!({ "url": url })).await;
    }

    pub async fn current_url(&self) -> String {
        self.get("/url")
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    pub async fn title(&self) -> String {
        self.get("/title")
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// The first element matching `css` (waits up to 5 s for it); panics naming the page if
    /// there is none.
    pub async fn find(&self, css: &str) -> Element {
        match self.find_all(css).await.into_iter().next() {
            Some(e) => e,
            None => {
                let url = self.current_url().await;
                let text = self.page_text().await;
                panic!("no element matches `{css}` on {url}; the page reads:\n{text}")
            }
        }
    }

    /// Every element matching `css` (waits up to 5 s for the first to appear).
    pub async fn find_all(&self, css: &str) -> Vec<Element> {
        let v = self
            .post(
                "/elements",
                json!({ "using": "css selector", "value": css }),
            )
            .await;
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| e[ELEMENT_KEY].as_str())
                    .map(|id| Element(id.to_string()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The rendered text of an element, as a person reads it.
    pub async fn text(&self, e: &Element) -> String {
        let v = self.get(&format!("/element/{}/text", e.0)).await;
        v.as_str().unwrap_or_default().to_string()
    }

    /// The rendered text of the whole page.
    pub async fn page_text(&self) -> String {
        let v = self
            .post(
                "/execute/sync",
                json!({ "script": "return document.body ? document.body.innerText : ''", "args": [] }),
            )
            .await;
        v.as_str().unwrap_or_default().to_string()
    }

    pub async fn attribute(&self, e: &Element, name: &str) -> Option<String> {
        let v = self
            .get(&format!("/element/{}/attribute/{name}", e.0))
            .await;
        v.as_str().map(str::to_string)
    }

    /// Types `text` into a field, as keystrokes.
    pub async fn type_into(&self, e: &Element, text: &str) {
        self.post(&format!("/element/{}/value", e.0), json!({ "text": text }))
            .await;
    }

    /// Clicks an element (a button that submits waits for the next page to load).
    pub async fn click(&self, e: &Element) {
        self.post(&format!("/element/{}/click", e.0), json!({}))
            .await;
    }

    /// Empties a field (a form shown again after an error may keep what was typed).
    pub async fn clear(&self, e: &Element) {
        self.post(&format!("/element/{}/clear", e.0), json!({}))
            .await;
    }

    /// Fills the named fields of the first form matching `form` (emptied first) and clicks
    /// its submit button.
    pub async fn fill_and_submit(&self, form: &str, fields: &[(&str, &str)]) {
        for (name, value) in fields {
            let field = self.find(&format!("{form} [name=\"{name}\"]")).await;
            self.clear(&field).await;
            self.type_into(&field, value).await;
        }
        let submit = self
            .find(&format!(
                "{form} button[type=\"submit\"], {form} input[type=\"submit\"], {form} button:not([type])"
            ))
            .await;
        self.click_to_navigate(&submit).await;
    }

    /// Clicks something that loads a new page (a submit button, a link) and waits until the
    /// new page has loaded: the click itself returns before the navigation it starts is done.
    pub async fn click_to_navigate(&self, e: &Element) {
        // Mark this document, so the new one can be told from it.
        self.eval("window.__eportalBeforeSubmit = true; return null")
            .await;
        self.click(e).await;
        self.wait_for_new_document().await;
    }

    /// Waits (up to 20 s) until the marked document has been replaced by a fully loaded one.
    async fn wait_for_new_document(&self) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let loaded = self
                .eval(
                    "return window.__eportalBeforeSubmit === undefined \
                     && document.readyState === 'complete'",
                )
                .await;
            if loaded == Value::Bool(true) {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the form's submission did not load a new page within 20 s"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// Runs `script` in the page and returns what it returns.
    pub async fn eval(&self, script: &str) -> Value {
        self.post("/execute/sync", json!({ "script": script, "args": [] }))
            .await
    }

    /// Saves a PNG of the viewport as `NN-name.png` in the test's screenshot folder.
    pub async fn screenshot(&mut self, name: &str) -> PathBuf {
        let v = self.get("/screenshot").await;
        self.save_png(name, &v)
    }

    /// Saves a PNG of the whole page, below the fold too, as `NN-name.png` (through
    /// Chromium's DevTools command: WebDriver itself only captures the viewport).
    pub async fn screenshot_page(&mut self, name: &str) -> PathBuf {
        let size = self
            .eval("const e = document.documentElement; return [e.scrollWidth, e.scrollHeight]")
            .await;
        let v = self
            .post(
                "/goog/cdp/execute",
                json!({ "cmd": "Page.captureScreenshot", "params": {
                    "format": "png",
                    "captureBeyondViewport": true,
                    "clip": { "x": 0, "y": 0, "width": size[0], "height": size[1], "scale": 1 },
                }}),
            )
            .await;
        self.save_png(name, &v["data"])
    }

    fn save_png(&mut self, name: &str, base64_png: &Value) -> PathBuf {
        let png = base64::engine::general_purpose::STANDARD
            .decode(base64_png.as_str().expect("a base64 screenshot"))
            .expect("valid base64");
        self.shot_no += 1;
        let path = self.shots.join(format!("{:02}-{name}.png", self.shot_no));
        std::fs::write(&path, &png).expect("the screenshot is written");
        path
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Ending the session closes Chromium; killing only the driver would leave it running.
        // Drop cannot await, so this one request is written by hand over a blocking socket.
        if !self.session.is_empty() {
            if let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) {
                let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
                let req = format!(
                    "DELETE /session/{} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    self.session, self.port
                );
                if s.write_all(req.as_bytes()).is_ok() {
                    let mut sink = Vec::new();
                    let _ = s.read_to_end(&mut sink);
                }
            }
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Browser {
    /// The value of the browser's cookie `name` for the current page's site, if it has one
    /// (WebDriver sees `HttpOnly` cookies too).
    pub async fn cookie(&self, name: &str) -> Option<String> {
        let all = self.get("/cookie").await;
        all.as_array()?
            .iter()
            .find(|c| c["name"] == name)
            .and_then(|c| c["value"].as_str())
            .map(str::to_string)
    }
}
