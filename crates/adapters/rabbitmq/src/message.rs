//! How a job is written into an AMQP message and read back: the persistent properties, the
//! `x-attempt`/`x-error` headers, the attempt number of a delivery and the delivery's tag.
//!
//! It must never decide what to do with a job (that is the worker's business); it only
//! carries the numbers the worker needs across the broker.

use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::BasicProperties;
use std::time::Duration;

/// The attempt a message starts with when it goes back on the queue after a retry.
pub(crate) const ATTEMPT_HEADER: &str = "x-attempt";
/// Why a job was retried or given up on.
pub(crate) const ERROR_HEADER: &str = "x-error";
/// Set by quorum queues on a message that came back after a lost delivery.
const DELIVERY_COUNT_HEADER: &str = "x-delivery-count";

/// Headers are carried in every copy of a message; an error string from a parser can be
/// long, so it is cut to keep messages small.
const MAX_ERROR_LEN: usize = 2_000;

/// Properties of every job message: persistent (delivery mode 2), so a broker restart keeps it.
pub(crate) fn properties(attempt: u32, error: Option<&str>) -> BasicProperties {
    let mut headers = FieldTable::default();
    headers.insert(
        ShortString::from(ATTEMPT_HEADER),
        AMQPValue::LongLongInt(i64::from(attempt)),
    );
    if let Some(error) = error {
        headers.insert(
            ShortString::from(ERROR_HEADER),
            AMQPValue::LongString(LongString::from(truncate(error, MAX_ERROR_LEN))),
        );
    }
    BasicProperties::default()
        .with_delivery_mode(2)
        .with_content_type(ShortString::from("application/json"))
        .with_headers(headers)
}

/// The same properties, expiring after `delay` in a retry queue.
pub(crate) fn with_expiration(props: BasicProperties, delay: Duration) -> BasicProperties {
    props.with_expiration(ShortString::from(delay.as_millis().to_string()))
}

/// The attempt number of a delivery: the attempt the message was (re)published with, plus
/// the times the broker had to hand it out again because a holder vanished or let its lease
/// run out. Quorum queues count those in `x-delivery-count`; other queues only say
/// `redelivered`, which counts as one.
pub(crate) fn attempt(properties: &BasicProperties, redelivered: bool) -> u32 {
    let header = |name: &str| {
        properties
            .headers()
            .as_ref()
            .and_then(|h| h.inner().get(name))
            .and_then(as_u64)
    };
    let published = header(ATTEMPT_HEADER).unwrap_or(1).max(1);
    let returned = header(DELIVERY_COUNT_HEADER).unwrap_or(u64::from(redelivered));
    u32::try_from(published.saturating_add(returned)).unwrap_or(u32::MAX)
}

/// The error header of a message, if any (what the last retry or dead-lettering said).
#[cfg(test)]
pub(crate) fn error(properties: &BasicProperties) -> Option<String> {
    match properties.headers().as_ref()?.inner().get(ERROR_HEADER)? {
        AMQPValue::LongString(s) => Some(String::from_utf8_lossy(s.as_bytes()).into_owned()),
        AMQPValue::ShortString(s) => Some(s.as_str().to_owned()),
        _ => None,
    }
}

fn as_u64(value: &AMQPValue) -> Option<u64> {
    match *value {
        AMQPValue::ShortShortUInt(v) => Some(u64::from(v)),
        AMQPValue::ShortUInt(v) => Some(u64::from(v)),
        AMQPValue::LongUInt(v) => Some(u64::from(v)),
        AMQPValue::ShortShortInt(v) => u64::try_from(v).ok(),
        AMQPValue::ShortInt(v) => u64::try_from(v).ok(),
        AMQPValue::LongInt(v) => u64::try_from(v).ok(),
        AMQPValue::LongLongInt(v) => u64::try_from(v).ok(),
        AMQPValue::Timestamp(v) => Some(v),
        _ => None,
    }
}

fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// A delivery's tag names the connection it came on (`generation`) as well as the broker's
/// per-channel tag, because tags restart at 1 on every channel: after a reconnection the old
/// numbers name other messages.
pub(crate) fn tag(generation: u64, delivery_tag: u64) -> String {
    format!("{generation}.{delivery_tag}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_headers(pairs: &[(&str, AMQPValue)]) -> BasicProperties {
        let mut h = FieldTable::default();
        for (k, v) in pairs {
            h.insert(ShortString::from(*k), v.clone());
        }
        BasicProperties::default().with_headers(h)
    }

    #[test]
    fn a_fresh_message_is_attempt_one_and_a_redelivered_one_two() {
        assert_eq!(attempt(&BasicProperties::default(), false), 1);
        assert_eq!(attempt(&BasicProperties::default(), true), 2);
    }

    #[test]
    fn the_quorum_delivery_count_adds_to_the_published_attempt() {
        let p = with_headers(&[
            (ATTEMPT_HEADER, AMQPValue::LongLongInt(3)),
            (DELIVERY_COUNT_HEADER, AMQPValue::LongInt(2)),
        ]);
        assert_eq!(attempt(&p, true), 5);
        let p = with_headers(&[(ATTEMPT_HEADER, AMQPValue::LongLongInt(3))]);
        assert_eq!(attempt(&p, false), 3);
    }

    #[test]
    fn nonsense_headers_do_not_produce_attempt_zero() {
        let p = with_headers(&[(ATTEMPT_HEADER, AMQPValue::LongLongInt(-4))]);
        assert_eq!(attempt(&p, false), 1);
        let p = with_headers(&[(ATTEMPT_HEADER, AMQPValue::Boolean(true))]);
        assert_eq!(attempt(&p, false), 1);
    }

    #[test]
    fn properties_round_trip_attempt_and_error() {
        let p = properties(4, Some("row 3: bad score"));
        assert_eq!(p.delivery_mode(), &Some(2));
        assert_eq!(attempt(&p, false), 4);
        assert_eq!(error(&p).as_deref(), Some("row 3: bad score"));
        let p = with_expiration(p, Duration::from_millis(1500));
        assert_eq!(p.expiration().as_ref().map(|s| s.as_str()), Some("1500"));
    }

    #[test]
    fn long_errors_are_cut_on_a_character_boundary() {
        let long = "é".repeat(MAX_ERROR_LEN);
        let p = properties(1, Some(&long));
        let e = error(&p).unwrap();
        assert!(e.len() <= MAX_ERROR_LEN && e.chars().all(|c| c == 'é'));
    }
}
