//! The fast lane: the results-day read answered before the router, when it needs nothing but
//! what the cache already holds.
//!
//! A results read that the cache can answer as it is — a student's own results
//! (`GET /api/v1/students/{matric_no}/results` with their bearer token) or a results link
//! (`GET /api/v1/r/{token}`), with the session version and fresh results in the cache and the
//! store answering — is served here with the same checks and the same answer as the full
//! path: the token's signature and session, the forced password change, the client's rate
//! limit, an in-flight slot, the request id, the ETag and `304`, the metrics under the same
//! route label. What it skips is what such a read does not need: the router, six layers of
//! middleware each boxing and cloning the rest of the stack, a tracing span, and the
//! extractors' copies.
//!
//! Everything else — a miss, stale or failing reads, another reader (HOD, dean, senate,
//! admin), any refusal of the token or the session, an unusual request (a body, an escaped
//! character other than `/`) — returns `None` before anything is counted, and the full path
//! answers it as it always has. This module must never answer differently from the full
//! path, nor count a request against a limit and then hand it on.

use super::admission::{self, Admission};
use super::extract::bearer;
use super::middleware::{record, request_id_of, X_REQUEST_ID};
use crate::services::links::link_reader;
use crate::services::{forced_password, Principal};
use axum::http::{header, HeaderMap, HeaderValue, Method, Request, StatusCode};
use axum::response::Response;
use eportal_core::{MatricNo, Role};
use prometheus::{Histogram, IntCounter};
use std::net::SocketAddr;
use std::time::Instant;

/// The route labels of the reads served here, as the router names them.
const STUDENT_RESULTS: &str = "/api/v1/students/{matric_no}/results";
const LINK_RESULTS: &str = "/api/v1/r/{token}";

/// Answers the cached reads (see the module's note); shares its admission state (the
/// in-flight slots) with the router's layers.
#[derive(Clone)]
pub struct FastLane {
    gate: Admission,
    /// The series its answers usually land in, looked up once rather than per request.
    student: Series,
    link: Series,
    cache_hits: IntCounter,
}

/// One route's request counters for `200` and `304`, and its latency histogram.
#[derive(Clone)]
struct Series {
    ok: IntCounter,
    not_modified: IntCounter,
    duration: Histogram,
}

impl Series {
    fn new(m: &crate::telemetry::Metrics, route: &str) -> Series {
        Series {
            ok: m.http_requests.with_label_values(&["GET", route, "200"]),
            not_modified: m.http_requests.with_label_values(&["GET", route, "304"]),
            duration: m.http_duration.with_label_values(&["GET", route]),
        }
    }
}

/// A read the fast lane may take, once its reader is known.
struct Read {
    route: &'static str,
    reader: Principal,
    matric: MatricNo,
    /// The rate limiter's client: the account for a bearer token, the address for a link
    /// (which is not a sign-in), as the full path counts them.
    client: String,
    link: bool,
}

impl FastLane {
    pub(super) fn new(gate: Admission) -> Self {
        let m = &gate.services.metrics;
        FastLane {
            student: Series::new(m, STUDENT_RESULTS),
            link: Series::new(m, LINK_RESULTS),
            cache_hits: m.cache.with_label_values(&["hit"]),
            gate,
        }
    }

    /// The answer, if this request is a cached read the fast lane can give in full.
    pub async fn answer<B>(&self, req: &Request<B>, peer: SocketAddr) -> Option<Response> {
        let started = Instant::now();
        if req.method() != Method::GET || carries_body(req.headers()) {
            return None;
        }
        let read = self.read_of(req.uri().path(), req.headers(), peer)?;
        let s = &self.gate.services;
        // Cache only: whatever needs the store is the full path's.
        let version = s.session_version_cached(&read.reader.username).await?;
        if version != read.reader.session_version {
            return None;
        }
        let doc = s.fresh_cached_results(&read.matric).await?;
        // From here on the request is this lane's: counted once, answered here.
        let mut res = match admission::check_rate(&self.gate, &read.client).await {
            Some(refusal) => refusal,
            None => match self.gate.slot() {
                None => admission::overloaded(&self.gate),
                Some(_slot) => {
                    self.cache_hits.inc();
                    if read.link {
                        super::links::link_response(doc)
                    } else {
                        super::students::results_response(
                            doc,
                            req.headers().get(header::IF_NONE_MATCH),
                        )
                    }
                }
            },
        };
        let id = request_id_of(req.headers());
        if let Ok(v) = HeaderValue::from_str(&id) {
            res.headers_mut().insert(X_REQUEST_ID.clone(), v);
        }
        s.metrics.http_fast_lane.inc();
        let series = if read.link { &self.link } else { &self.student };
        let elapsed = started.elapsed();
        match res.status() {
            StatusCode::OK => series.ok.inc(),
            StatusCode::NOT_MODIFIED => series.not_modified.inc(),
            status => {
                let client = move || peer.ip().to_string();
                record(s, "GET", read.route, status, elapsed, client);
                return Some(res);
            }
        }
        series.duration.observe(elapsed.as_secs_f64());
        Some(res)
    }

    /// Which cached read `path` asks for, and whose: only a student's own results with a
    /// valid token that may use them, or a genuine link.
    fn read_of(&self, path: &str, headers: &HeaderMap, peer: SocketAddr) -> Option<Read> {
        let s = &self.gate.services;
        if let Some(rest) = path.strip_prefix("/api/v1/students/") {
            let matric = MatricNo::parse(&decode_segment(rest.strip_suffix("/results")?)?).ok()?;
            let reader = s.auth.verify(bearer(headers)?)?;
            let own = reader.has(Role::Student) && reader.username == matric.as_str();
            if !own || !forced_password::may_use(&reader, path) {
                return None;
            }
            let client = admission::client_key(Some(&reader.username), Some(peer));
            return Some(Read {
                route: STUDENT_RESULTS,
                reader,
                matric,
                client,
                link: false,
            });
        }
        let token = path.strip_prefix("/api/v1/r/")?;
        if token.contains(['/', '%']) {
            return None;
        }
        let holder = s.links.open(token).ok()?;
        Some(Read {
            route: LINK_RESULTS,
            reader: link_reader(&holder),
            matric: holder.matric,
            client: admission::client_key(None, Some(peer)),
            link: true,
        })
    }
}

/// Whether a request says it has a body (the full path judges those).
fn carries_body(h: &HeaderMap) -> bool {
    h.contains_key(header::TRANSFER_ENCODING)
        || h.get(header::CONTENT_LENGTH)
            .is_some_and(|v| v.as_bytes() != b"0")
}

/// A path segment with its `%2F`s decoded; `None` for any other escape or a bare `/` (the
/// full path decodes those).
fn decode_segment(seg: &str) -> Option<String> {
    let mut out = String::with_capacity(seg.len());
    let mut rest = seg;
    while let Some(i) = rest.find(['%', '/']) {
        out.push_str(&rest[..i]);
        let esc = rest[i..].get(..3)?;
        if !esc.eq_ignore_ascii_case("%2f") {
            return None;
        }
        out.push('/');
        rest = &rest[i + 3..];
    }
    out.push_str(rest);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_slashes_are_decoded_in_the_fast_lane() {
        assert_eq!(
            decode_segment("SCI%2F2021%2f0001").as_deref(),
            Some("SCI/2021/0001")
        );
        assert_eq!(decode_segment("plain").as_deref(), Some("plain"));
        assert_eq!(decode_segment("SCI/2021/0001"), None, "a raw slash");
        assert_eq!(decode_segment("SCI%20X"), None, "another escape");
        assert_eq!(decode_segment("SCI%2"), None, "a cut escape");
    }

    #[test]
    fn a_request_with_a_body_is_left_to_the_full_path() {
        let mut h = HeaderMap::new();
        assert!(!carries_body(&h));
        h.insert(header::CONTENT_LENGTH, HeaderValue::from_static("0"));
        assert!(!carries_body(&h));
        h.insert(header::CONTENT_LENGTH, HeaderValue::from_static("5"));
        assert!(carries_body(&h));
        let mut h = HeaderMap::new();
        h.insert(
            header::TRANSFER_ENCODING,
            HeaderValue::from_static("chunked"),
        );
        assert!(carries_body(&h));
    }
}
