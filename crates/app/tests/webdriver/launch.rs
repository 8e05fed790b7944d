//! How the browser tests start Chromium: the flags that keep it off the network, the desktop
//! and phone windows, where chromedriver and Chromium are, and the WebDriver capabilities of
//! a new session. Nothing here talks to the browser; the commands are in `mod.rs`.

use serde_json::{json, Value};
use std::net::TcpListener;
use std::path::{Path, PathBuf};

/// Kept in step with `./scripts/browser flags` (used by ./scripts/lighthouse).
pub const CHROMIUM_FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
];

/// A phone's browser, as a student on a cheap Android phone would send it.
pub const PHONE_USER_AGENT: &str = "Mozilla/5.0 (Linux; Android 13; SM-A145F) AppleWebKit/537.36 \
     (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36";

/// The window a test looks through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Window {
    /// 1280×800, a laptop.
    Desktop,
    /// 360×740 CSS pixels at device pixel ratio 1, touch, mobile user agent.
    Phone,
}

impl Window {
    /// The viewport size in CSS pixels.
    pub fn size(self) -> (u32, u32) {
        match self {
            Window::Desktop => (1280, 800),
            Window::Phone => (360, 740),
        }
    }
}

pub fn chromedriver_path() -> PathBuf {
    std::env::var_os("EPORTAL_CHROMEDRIVER")
        .map(PathBuf::from)
        .unwrap_or_else(|| "/usr/bin/chromedriver".into())
}

pub fn chromium_path() -> PathBuf {
    std::env::var_os("EPORTAL_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| "/usr/bin/chromium".into())
}

/// `target/` of this build: the test binary lives in `target/<profile>/deps/`.
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    exe.ancestors()
        .nth(3)
        .expect("the test binary lives under target/<profile>/deps")
        .to_path_buf()
}

/// The capabilities of a new session: Chromium at `chromium`, headless and offline, with an
/// empty profile in `profile` and exactly the window's viewport.
pub fn capabilities(window: Window, chromium: &Path, profile: &Path) -> Value {
    let (w, h) = window.size();
    let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|s| s.to_string()).collect();
    args.push(format!("--user-data-dir={}", profile.display()));
    args.push(format!("--window-size={w},{h}"));
    // The window's own frame takes part of --window-size, so the viewport is set exactly
    // through device emulation (a desktop one for the desktop window).
    let phone = window == Window::Phone;
    let mut emulation = json!({
        "deviceMetrics": { "width": w, "height": h, "pixelRatio": 1.0, "touch": phone, "mobile": phone },
    });
    if phone {
        emulation["userAgent"] = json!(PHONE_USER_AGENT);
    }
    let options = json!({ "binary": chromium, "args": args, "mobileEmulation": emulation });
    json!({ "capabilities": { "alwaysMatch": {
        "browserName": "chrome",
        "pageLoadStrategy": "normal",
        "goog:chromeOptions": options,
        // Finding an element waits up to 5 s for it to appear (pages load, forms submit).
        "timeouts": { "implicit": 5000, "pageLoad": 30000, "script": 10000 },
    }}})
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// The width and height of a PNG file, read from its IHDR chunk; `None` if it is not a PNG.
pub fn png_size(bytes: &[u8]) -> Option<(u32, u32)> {
    const SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
    if bytes.len() < 24 || &bytes[..8] != SIGNATURE || &bytes[12..16] != b"IHDR" {
        return None;
    }
    let w = u32::from_be_bytes(bytes[16..20].try_into().ok()?);
    let h = u32::from_be_bytes(bytes[20..24].try_into().ok()?);
    Some((w, h))
}
