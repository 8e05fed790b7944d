//! The queues one namespace lives in, and how they are declared. Declaring is idempotent, so
//! every (re)connection declares the whole set again; an operator can recreate a deleted queue
//! by restarting any process.
//!
//! This module must never declare a classic or non-durable queue for jobs: every queue here is
//! a durable quorum queue, replicated by Raft across the RabbitMQ cluster.
//!
//! Delayed retries. A quorum queue (RabbitMQ ≥ 3.10) expires a message only once it reaches
//! the head of the queue, so one retry queue with per-message expirations would make a 1 s
//! retry wait behind a 60 s one. The retry queues are therefore bucketed by powers of two:
//! a delay goes to the smallest bucket at least as long, carries its own exact expiration,
//! and can be held back by an earlier message of the same bucket by less than the bucket's
//! length. On expiry each bucket dead-letters back to `{ns}.jobs` with the at-least-once
//! strategy, so a job is never lost between the two queues.

use eportal_ports::PortError;
use lapin::options::QueueDeclareOptions;
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::Channel;
use std::time::Duration;

/// Upper bounds of the retry buckets, in seconds (1 s … 68 min). Longer delays use the last
/// bucket, where head-of-line waiting is bounded by the longest delay in use.
const RETRY_BUCKET_SECS: [u64; 13] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096];

/// A job that went back to the queue this many times without an acknowledgement (its
/// workers crashed or overran their lease each time) is moved to the dead queue by the
/// broker itself, so a job that kills its worker cannot loop for ever.
pub const DELIVERY_LIMIT: i32 = 20;

/// RabbitMQ's limit on queue names, minus room for the longest suffix used here.
const MAX_NAMESPACE_LEN: usize = 200;

#[derive(Debug, Clone)]
pub(crate) struct RetryBucket {
    pub name: String,
    pub max: Duration,
}

#[derive(Debug, Clone)]
pub(crate) struct Topology {
    pub jobs: String,
    pub dead: String,
    pub retry: Vec<RetryBucket>,
}

impl Topology {
    pub fn new(namespace: &str) -> Result<Self, PortError> {
        validate_namespace(namespace)?;
        let jobs = format!("{namespace}.jobs");
        Ok(Topology {
            dead: format!("{jobs}.dead"),
            retry: RETRY_BUCKET_SECS
                .iter()
                .map(|&secs| RetryBucket {
                    name: format!("{jobs}.retry.{secs}s"),
                    max: Duration::from_secs(secs),
                })
                .collect(),
            jobs,
        })
    }

    /// The bucket a retry after `delay` waits in.
    pub fn bucket_for(&self, delay: Duration) -> &RetryBucket {
        self.retry
            .iter()
            .find(|b| delay <= b.max)
            .unwrap_or_else(|| self.retry.last().expect("there is always a retry bucket"))
    }

    /// Every queue name, for stats and for deleting a namespace.
    pub fn all_queues(&self) -> impl Iterator<Item = &str> {
        [self.jobs.as_str(), self.dead.as_str()]
            .into_iter()
            .chain(self.retry.iter().map(|b| b.name.as_str()))
    }

    pub async fn declare(&self, channel: &Channel) -> lapin::Result<()> {
        let mut jobs = quorum();
        dead_letter_to(&mut jobs, &self.dead);
        jobs.insert(
            "x-delivery-limit".into(),
            AMQPValue::LongInt(DELIVERY_LIMIT),
        );
        declare(channel, &self.jobs, jobs).await?;
        declare(channel, &self.dead, quorum()).await?;
        for bucket in &self.retry {
            let mut args = quorum();
            dead_letter_to(&mut args, &self.jobs);
            // At-least-once dead-lettering requires the source queue to refuse publishes
            // rather than drop its head when full; no length limit is set, so it never is.
            args.insert(
                "x-dead-letter-strategy".into(),
                long_string("at-least-once"),
            );
            args.insert("x-overflow".into(), long_string("reject-publish"));
            declare(channel, &bucket.name, args).await?;
        }
        Ok(())
    }
}

fn validate_namespace(namespace: &str) -> Result<(), PortError> {
    if namespace.is_empty() {
        return Err(PortError::Invalid(
            "the RabbitMQ queue namespace is empty; give a name such as `eportal`".into(),
        ));
    }
    if namespace.len() > MAX_NAMESPACE_LEN {
        return Err(PortError::Invalid(format!(
            "the RabbitMQ queue namespace is {} characters long; at most {MAX_NAMESPACE_LEN} are allowed",
            namespace.len()
        )));
    }
    if let Some(bad) = namespace
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')))
    {
        return Err(PortError::Invalid(format!(
            "the RabbitMQ queue namespace {namespace:?} contains {bad:?}; use only letters, digits, '.', '-' and '_'"
        )));
    }
    if namespace.starts_with("amq.") {
        return Err(PortError::Invalid(format!(
            "the RabbitMQ queue namespace {namespace:?} starts with `amq.`, which RabbitMQ reserves for itself"
        )));
    }
    Ok(())
}

fn long_string(s: &str) -> AMQPValue {
    AMQPValue::LongString(LongString::from(s))
}

fn quorum() -> FieldTable {
    let mut args = FieldTable::default();
    args.insert(ShortString::from("x-queue-type"), long_string("quorum"));
    args
}

/// Routes messages this queue rejects (expired, over the delivery limit) to `target` through
/// the default exchange, which needs no exchange of our own to be declared.
fn dead_letter_to(args: &mut FieldTable, target: &str) {
    args.insert("x-dead-letter-exchange".into(), long_string(""));
    args.insert("x-dead-letter-routing-key".into(), long_string(target));
}

async fn declare(channel: &Channel, name: &str, args: FieldTable) -> lapin::Result<()> {
    let options = QueueDeclareOptions {
        durable: true,
        ..QueueDeclareOptions::default()
    };
    channel.queue_declare(name, options, args).await.map(|_| ())
}

/// Messages waiting in `queue` (ready, not held by a consumer), without creating it.
pub(crate) async fn ready_count(channel: &Channel, queue: &str) -> lapin::Result<u64> {
    let options = QueueDeclareOptions {
        passive: true,
        durable: true,
        ..QueueDeclareOptions::default()
    };
    let q = channel
        .queue_declare(queue, options, FieldTable::default())
        .await?;
    Ok(u64::from(q.message_count()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_derived_from_the_namespace() {
        let t = Topology::new("uni.prod").unwrap();
        assert_eq!(t.jobs, "uni.prod.jobs");
        assert_eq!(t.dead, "uni.prod.jobs.dead");
        assert_eq!(t.retry[0].name, "uni.prod.jobs.retry.1s");
        assert_eq!(t.all_queues().count(), 2 + RETRY_BUCKET_SECS.len());
    }

    #[test]
    fn a_delay_goes_to_the_smallest_bucket_that_holds_it() {
        let t = Topology::new("ns").unwrap();
        assert_eq!(t.bucket_for(Duration::ZERO).max, Duration::from_secs(1));
        assert_eq!(
            t.bucket_for(Duration::from_millis(1000)).max,
            Duration::from_secs(1)
        );
        assert_eq!(
            t.bucket_for(Duration::from_millis(1001)).max,
            Duration::from_secs(2)
        );
        assert_eq!(
            t.bucket_for(Duration::from_secs(60)).max,
            Duration::from_secs(64)
        );
        assert_eq!(
            t.bucket_for(Duration::from_secs(86_400)).max,
            Duration::from_secs(4096)
        );
    }

    #[test]
    fn bad_namespaces_are_refused_with_a_reason() {
        for (ns, needle) in [
            ("", "empty"),
            ("a b", "' '"),
            ("amq.x", "reserves"),
            (&"x".repeat(201), "at most"),
        ] {
            match Topology::new(ns) {
                Err(PortError::Invalid(msg)) => assert!(msg.contains(needle), "{msg}"),
                other => panic!("{ns:?} gave {other:?}"),
            }
        }
    }
}
