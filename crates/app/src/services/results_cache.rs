//! A student's results as the cache keeps them: the finished JSON response, its strong
//! `ETag` and the moment it stops being fresh, in one value, so a cached read is a cache get
//! and a write of those bytes — no JSON is parsed or built on the way.
//!
//! Freshness and keeping are two clocks. An entry is fresh for `results_cache_ttl_secs`
//! (changes also delete it at once), and kept for `results_stale_ttl_secs`: past freshness it
//! is still served while one background refresh runs (stale-while-revalidate), and while the
//! store is failing it is served marked possibly stale. A student with no entry at all gets a
//! `503` with `Retry-After` after at most `results_store_timeout_ms`, never a hang.
//!
//! Misses of one student load once: later requests wait behind the first (on one of a fixed
//! number of striped locks) and find its entry; if that load failed, they fail at once
//! instead of asking a failing store again. This module must never hold a request longer than
//! the store timeout, and never let a burst of stale reads turn into a burst of store reads.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use tokio::sync::Mutex;

/// The first bytes of a cached value; a value without them is not ours (or an older shape).
const MAGIC: &[u8; 4] = b"ERd2";
/// `"` + 32 hex digits + `"`.
const ETAG_LEN: usize = 34;
const HEADER: usize = MAGIC.len() + 8 + ETAG_LEN;
/// Striped locks for coalescing: a bounded number, so memory never grows with keys.
const STRIPES: usize = 256;
/// While the store is failing, at most one background refresh per this many milliseconds
/// asks it whether it is back (the others serve what they have).
const PROBE_EVERY_MS: i64 = 1_000;

/// A student's results ready to send: the JSON body and its `ETag`.
#[derive(Debug, Clone)]
pub struct ResultsDoc {
    raw: Vec<u8>,
    /// Served from a kept copy while the store is failing: it may be out of date.
    pub stale: bool,
}

impl ResultsDoc {
    /// Wraps `json` with its strong `ETag` (the first 128 bits of its SHA-256) and the Unix
    /// time in milliseconds until which it is fresh.
    pub fn new(json: &[u8], fresh_until_ms: i64) -> ResultsDoc {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(json);
        let mut raw = Vec::with_capacity(HEADER + json.len());
        raw.extend_from_slice(MAGIC);
        raw.extend_from_slice(&fresh_until_ms.to_le_bytes());
        raw.push(b'"');
        raw.extend_from_slice(hex::encode(&digest[..16]).as_bytes());
        raw.push(b'"');
        raw.extend_from_slice(json);
        ResultsDoc { raw, stale: false }
    }

    /// Reads a cached value back; `None` if it is not one (the caller loads afresh).
    pub fn decode(raw: Vec<u8>) -> Option<ResultsDoc> {
        let ok = raw.len() > HEADER
            && raw.starts_with(MAGIC)
            && raw[12] == b'"'
            && raw[HEADER - 1] == b'"'
            && raw[13..HEADER - 1].iter().all(u8::is_ascii_hexdigit);
        ok.then_some(ResultsDoc { raw, stale: false })
    }

    /// The value to cache.
    pub fn as_cached(&self) -> &[u8] {
        &self.raw
    }

    pub fn fresh_until_ms(&self) -> i64 {
        let mut b = [0u8; 8];
        b.copy_from_slice(&self.raw[MAGIC.len()..MAGIC.len() + 8]);
        i64::from_le_bytes(b)
    }

    /// The strong entity tag, quoted (`"3f…"`).
    pub fn etag(&self) -> &str {
        // Checked to be ASCII hex between quotes when the value was made or decoded.
        std::str::from_utf8(&self.raw[MAGIC.len() + 8..HEADER]).unwrap_or("\"\"")
    }

    /// The JSON body.
    pub fn json(&self) -> &[u8] {
        &self.raw[HEADER..]
    }

    /// The whole buffer and where the JSON body starts in it, so the body can be sent
    /// without a copy.
    pub fn into_parts(self) -> (Vec<u8>, usize) {
        (self.raw, HEADER)
    }
}

/// What the results reads of one process share: the coalescing locks and what is known of the
/// store's health (from the results reads themselves).
pub struct ResultsReads {
    stripes: Vec<Arc<Mutex<()>>>,
    /// When the store began failing results reads (Unix ms); 0 while it answers.
    failing_since_ms: AtomicI64,
    /// The last time a results read of the store failed (Unix ms); 0 if never.
    last_failure_ms: AtomicI64,
    /// While failing: the earliest time the next background probe may ask the store.
    next_probe_ms: AtomicI64,
}

impl Default for ResultsReads {
    fn default() -> Self {
        ResultsReads {
            stripes: (0..STRIPES).map(|_| Arc::new(Mutex::new(()))).collect(),
            failing_since_ms: AtomicI64::new(0),
            last_failure_ms: AtomicI64::new(0),
            next_probe_ms: AtomicI64::new(0),
        }
    }
}

impl ResultsReads {
    /// The lock that loads of `key` take, shared with the keys that hash alike.
    pub fn stripe(&self, key: &str) -> Arc<Mutex<()>> {
        let h = key.bytes().fold(0xcbf29ce484222325u64, |h, b| {
            (h ^ b as u64).wrapping_mul(0x100000001b3)
        });
        self.stripes[(h % self.stripes.len() as u64) as usize].clone()
    }

    /// A results read of the store failed (unavailable or too slow).
    pub fn note_failure(&self, now_ms: i64) {
        self.last_failure_ms.store(now_ms, Ordering::Relaxed);
        let _ = self.failing_since_ms.compare_exchange(
            0,
            now_ms.max(1),
            Ordering::Relaxed,
            Ordering::Relaxed,
        );
    }

    /// A results read of the store succeeded: it is answering again.
    pub fn note_success(&self) {
        self.failing_since_ms.store(0, Ordering::Relaxed);
    }

    /// Whether the last results read of the store failed.
    pub fn failing(&self) -> bool {
        self.failing_since_ms.load(Ordering::Relaxed) != 0
    }

    /// Whether a read of the store failed at or after `since_ms`.
    pub fn failed_since(&self, since_ms: i64) -> bool {
        self.last_failure_ms.load(Ordering::Relaxed) >= since_ms
    }

    /// Whether this caller may probe the failing store now (one caller per interval wins).
    pub fn take_probe(&self, now_ms: i64) -> bool {
        let next = self.next_probe_ms.load(Ordering::Relaxed);
        now_ms >= next
            && self
                .next_probe_ms
                .compare_exchange(
                    next,
                    now_ms + PROBE_EVERY_MS,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_round_trips_through_its_cached_form() {
        let doc = ResultsDoc::new(br#"{"a":1}"#, 1_700_000_000_123);
        let back = ResultsDoc::decode(doc.as_cached().to_vec()).expect("decodes");
        assert_eq!(back.json(), br#"{"a":1}"#);
        assert_eq!(back.fresh_until_ms(), 1_700_000_000_123);
        assert_eq!(back.etag(), doc.etag());
        assert_eq!(back.etag().len(), ETAG_LEN);
        assert!(back.etag().starts_with('"') && back.etag().ends_with('"'));
        let (buf, at) = back.into_parts();
        assert_eq!(&buf[at..], br#"{"a":1}"#);
    }

    #[test]
    fn different_bytes_have_different_tags_and_equal_bytes_equal_tags() {
        let a = ResultsDoc::new(br#"{"total":67}"#, 1);
        let b = ResultsDoc::new(br#"{"total":68}"#, 1);
        let c = ResultsDoc::new(br#"{"total":67}"#, 999);
        assert_ne!(a.etag(), b.etag());
        assert_eq!(a.etag(), c.etag(), "the tag depends on the body only");
    }

    #[test]
    fn values_that_are_not_documents_are_refused() {
        assert!(ResultsDoc::decode(br#"{"matric_no":"SCI/2021/0001"}"#.to_vec()).is_none());
        assert!(ResultsDoc::decode(Vec::new()).is_none());
        let mut bad = ResultsDoc::new(b"{}", 1).as_cached().to_vec();
        bad[20] = b'z';
        assert!(ResultsDoc::decode(bad).is_none(), "a tag that is not hex");
    }

    #[test]
    fn a_failing_store_is_probed_once_per_interval() {
        let r = ResultsReads::default();
        assert!(!r.failing());
        r.note_failure(10_000);
        assert!(r.failing() && r.failed_since(10_000) && !r.failed_since(10_001));
        assert!(r.take_probe(10_000));
        assert!(!r.take_probe(10_500), "a second probe within the interval");
        assert!(r.take_probe(11_000));
        r.note_success();
        assert!(!r.failing());
    }
}
