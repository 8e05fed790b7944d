//! The stylesheet, the icon and the sign-in waiting room's script, embedded in the binary (campus networks may have no
//! internet) and served at addresses that name their content hash, so browsers may keep them
//! for a year and a new build is fetched at once. `/favicon.ico`, the address browsers ask
//! for on their own, answers with the same icon drawn as a 16×16 ICO (its address cannot
//! change, so it is kept for a day, not a year).
//!
//! Nothing here may depend on who asks: assets are served outside the page sessions.

use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use sha2::{Digest, Sha256};
use std::sync::LazyLock;

const SITE_CSS: &str = include_str!("../../assets/site.css");
const FAVICON_SVG: &str = include_str!("../../assets/favicon.svg");
const WAIT_JS: &str = include_str!("../../assets/wait.js");

/// One embedded file: its bytes, its type and its content hash (the first 16 hex digits of
/// its SHA-256).
struct Asset {
    body: &'static [u8],
    content_type: &'static str,
    hash: String,
}

impl Asset {
    fn new(body: &'static [u8], content_type: &'static str) -> Self {
        Asset {
            body,
            content_type,
            hash: hex::encode(Sha256::digest(body))[..16].to_string(),
        }
    }

    /// The answer to a GET: the file, or `304` if the browser already holds this version.
    fn answer(&self, headers: &HeaderMap, cache_control: &'static str) -> Response {
        let etag = format!("\"{}\"", self.hash);
        let cached = headers
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
        let common = [
            (header::CACHE_CONTROL, cache_control.to_string()),
            (header::ETAG, etag),
        ];
        if cached {
            return (StatusCode::NOT_MODIFIED, common).into_response();
        }
        (
            common,
            [(header::CONTENT_TYPE, self.content_type)],
            self.body,
        )
            .into_response()
    }
}

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const ONE_DAY: &str = "public, max-age=86400";

static CSS: LazyLock<Asset> =
    LazyLock::new(|| Asset::new(SITE_CSS.as_bytes(), "text/css; charset=utf-8"));
static ICON: LazyLock<Asset> =
    LazyLock::new(|| Asset::new(FAVICON_SVG.as_bytes(), "image/svg+xml"));
static WAIT: LazyLock<Asset> =
    LazyLock::new(|| Asset::new(WAIT_JS.as_bytes(), "text/javascript; charset=utf-8"));
static ICO: LazyLock<Asset> = LazyLock::new(|| Asset::new(ICO_BYTES.as_slice(), "image/x-icon"));

/// `/assets/site.{hash}.css`
static CSS_HREF: LazyLock<String> = LazyLock::new(|| format!("/assets/site.{}.css", CSS.hash));
/// `/assets/icon.{hash}.svg`
static ICON_HREF: LazyLock<String> = LazyLock::new(|| format!("/assets/icon.{}.svg", ICON.hash));

/// `/assets/wait.{hash}.js`
static WAIT_HREF: LazyLock<String> = LazyLock::new(|| format!("/assets/wait.{}.js", WAIT.hash));

/// The address the sign-in page loads its waiting-room script from (a file of this portal,
/// as the content security policy's `script-src 'self'` requires; no inline script).
pub fn wait_js_href() -> &'static str {
    &WAIT_HREF
}

/// The address the pages link the stylesheet from.
pub fn css_href() -> &'static str {
    &CSS_HREF
}

/// The address the pages link the icon from.
pub fn icon_href() -> &'static str {
    &ICON_HREF
}

/// The icon's letter, drawn as favicon.svg draws it: which of the 16×16 pixels are white.
fn letter(x: u32, y: u32) -> bool {
    let stem = (4..6).contains(&x) && (3..13).contains(&y);
    let bar = |top: u32, right: u32| (4..right).contains(&x) && (top..top + 2).contains(&y);
    stem || bar(3, 12) || bar(7, 11) || bar(11, 12)
}

/// Whether a pixel lies outside the icon's rounded corners (radius 3), judged at its centre.
fn outside_corner(x: u32, y: u32) -> bool {
    let d = |c: u32| {
        let c = c as f32 + 0.5;
        if c < 3.0 {
            3.0 - c
        } else if c > 13.0 {
            c - 13.0
        } else {
            0.0
        }
    };
    d(x).powi(2) + d(y).powi(2) > 9.0
}

/// `/favicon.ico`: one 16×16, 32-bit image (BMP inside ICO, as every browser reads it).
static ICO_BYTES: LazyLock<Vec<u8>> = LazyLock::new(|| {
    const N: u32 = 16;
    let pixels = (N * N * 4) as usize;
    let mask = (N * 4) as usize; // 1 bit a pixel, rows padded to 32 bits
    let image = 40 + pixels + mask;
    let mut v = Vec::with_capacity(22 + image);
    // ICONDIR, then its one ICONDIRENTRY.
    for n in [0u16, 1, 1] {
        v.extend(n.to_le_bytes());
    }
    v.extend([N as u8, N as u8, 0, 0]);
    v.extend(1u16.to_le_bytes()); // planes
    v.extend(32u16.to_le_bytes()); // bits a pixel
    v.extend((image as u32).to_le_bytes());
    v.extend(22u32.to_le_bytes()); // where the image starts
                                   // BITMAPINFOHEADER: the height counts the colour rows and the mask's rows.
    v.extend(40u32.to_le_bytes());
    v.extend((N as i32).to_le_bytes());
    v.extend((2 * N as i32).to_le_bytes());
    v.extend(1u16.to_le_bytes());
    v.extend(32u16.to_le_bytes());
    v.extend(0u32.to_le_bytes()); // no compression
    v.extend(((pixels + mask) as u32).to_le_bytes());
    for _ in 0..4 {
        v.extend(0u32.to_le_bytes());
    }
    // Rows bottom-up, each pixel blue, green, red, alpha.
    let mut and_mask = Vec::with_capacity(mask);
    for y in (0..N).rev() {
        let mut bits = 0u32;
        for x in 0..N {
            let px = if outside_corner(x, y) {
                bits |= 1 << (31 - x);
                [0, 0, 0, 0]
            } else if letter(x, y) {
                [0xff, 0xff, 0xff, 0xff]
            } else {
                [0x6e, 0x3d, 0x0b, 0xff] // #0b3d6e, the header's blue
            };
            v.extend(px);
        }
        and_mask.extend(bits.to_be_bytes());
    }
    v.extend(and_mask);
    v
});

pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route(
            css_href(),
            get(|h: HeaderMap| async move { CSS.answer(&h, IMMUTABLE) }),
        )
        .route(
            icon_href(),
            get(|h: HeaderMap| async move { ICON.answer(&h, IMMUTABLE) }),
        )
        .route(
            wait_js_href(),
            get(|h: HeaderMap| async move { WAIT.answer(&h, IMMUTABLE) }),
        )
        .route(
            "/favicon.ico",
            get(|h: HeaderMap| async move { ICO.answer(&h, ONE_DAY) }),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ico_is_one_16_pixel_image_of_the_length_its_header_says() {
        let ico = ICO_BYTES.as_slice();
        assert_eq!(&ico[..6], &[0, 0, 1, 0, 1, 0], "an icon file of one image");
        assert_eq!((ico[6], ico[7]), (16, 16));
        let size = u32::from_le_bytes(ico[14..18].try_into().unwrap()) as usize;
        let offset = u32::from_le_bytes(ico[18..22].try_into().unwrap()) as usize;
        assert_eq!(offset + size, ico.len());
        assert_eq!(ico.len(), 22 + 40 + 16 * 16 * 4 + 16 * 4);
        // The top-left pixel (last row of the bottom-up image) is a transparent corner; the
        // centre of the stem is white.
        let px = |x: usize, y: usize| {
            let at = offset + 40 + ((15 - y) * 16 + x) * 4;
            &ico[at..at + 4]
        };
        assert_eq!(px(0, 0), [0, 0, 0, 0]);
        assert_eq!(px(4, 8), [0xff, 0xff, 0xff, 0xff]);
        assert_eq!(px(8, 6), [0x6e, 0x3d, 0x0b, 0xff]);
    }

    #[test]
    fn asset_addresses_name_their_content() {
        assert!(css_href().starts_with("/assets/site.") && css_href().ends_with(".css"));
        assert!(icon_href().starts_with("/assets/icon.") && icon_href().ends_with(".svg"));
        assert!(wait_js_href().starts_with("/assets/wait.") && wait_js_href().ends_with(".js"));
        assert_ne!(CSS.hash, ICON.hash);
    }
}
