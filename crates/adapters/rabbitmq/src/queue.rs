//! [`RabbitQueue`]: the job queue port on RabbitMQ. Every publish waits for the broker's
//! confirm; a delivery is acknowledged only when the worker says its effect is committed;
//! retries and dead-letters are published (and confirmed) before the original is
//! acknowledged, so a job is at no moment in no queue.
//!
//! Leases are local timers: RabbitMQ has no per-message lease, so when one runs out the
//! handle gives the delivery back (a negative acknowledgement with requeue) and refuses a late
//! `ack` of it. RabbitMQ's own `consumer_timeout` (30 min by default) caps any lease: past it
//! the broker closes the channel and the handle reconnects.
//!
//! It must never acknowledge a delivery it no longer holds (after a reconnection the broker's
//! delivery tags name other messages), and never wait on a dead connection: such calls fail
//! with `Unavailable` at once.

use crate::link::{unavailable, Link, Session, ENGINE};
use crate::message;
use crate::topology::{self, Topology};
use async_trait::async_trait;
use eportal_core::jobs::Envelope;
use eportal_ports::error::PortResult;
use eportal_ports::{Delivery, JobQueue, PortError, QueueStats};
use lapin::acker::Acker;
use lapin::options::{BasicAckOptions, BasicNackOptions, BasicPublishOptions};
use lapin::publisher_confirm::Confirmation;
use lapin::uri::AMQPUri;
use lapin::BasicProperties;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::task::AbortHandle;
use tokio::time::Instant;

/// How long `receive` waits for a delivery before answering `None`: long enough for a job
/// published a moment ago to travel from the broker, short enough that "none ready now"
/// stays true to its word (callers poll, and a retry must not surface inside a long wait).
const RECEIVE_WAIT: Duration = Duration::from_millis(200);
/// Longest wait for any one broker operation (a confirm, an ack, a declare).
const OPERATION_TIMEOUT: Duration = Duration::from_secs(10);

/// A handle on one namespace's job queues. Cheap to share (`Arc<dyn JobQueue>`); all clones of
/// the `Arc` share one connection. Dropping the last one closes the connection, and RabbitMQ
/// puts the jobs it still held back on the queue.
pub struct RabbitQueue {
    inner: Arc<Inner>,
}

struct Inner {
    link: Arc<Link>,
    /// Random per handle, so a tag from another handle is never mistaken for one of ours.
    handle_id: u32,
    /// Deliveries handed to callers and not yet settled, by tag.
    held: Mutex<HashMap<String, Held>>,
}

struct Held {
    generation: u64,
    acker: Acker,
    lease: AbortHandle,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Ok(held) = self.held.get_mut() {
            for h in held.values() {
                h.lease.abort();
            }
        }
    }
}

impl RabbitQueue {
    /// Connects to `amqp_url` (`amqp://user:password@host:5672/vhost`) and declares the
    /// queues of `namespace` (`{namespace}.jobs`, `.jobs.dead`, `.jobs.retry.*`). `prefetch`
    /// bounds how many deliveries the broker pushes to this handle before they are settled: it
    /// must be at least the number of jobs the caller works on at once.
    pub async fn connect(amqp_url: &str, namespace: &str, prefetch: u16) -> PortResult<Self> {
        if prefetch == 0 {
            return Err(PortError::Invalid(
                "the RabbitMQ prefetch must be at least 1 (0 would mean no limit)".into(),
            ));
        }
        let topology = Topology::new(namespace)?;
        let uri: AMQPUri = amqp_url.parse().map_err(|e| {
            // The URL may carry a password: name the problem, not the URL.
            PortError::Invalid(format!(
                "the queue URL is not an AMQP URL (amqp://user:password@host:port/vhost): {e}"
            ))
        })?;
        let link = Link::open(uri, topology, prefetch).await?;
        Ok(RabbitQueue {
            inner: Arc::new(Inner {
                link,
                handle_id: rand::random(),
                held: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// Deletes every queue of `namespace`, with the jobs in them (used to clean up test and
    /// staging namespaces). Queues already gone are skipped.
    pub async fn delete_namespace(amqp_url: &str, namespace: &str) -> PortResult<()> {
        let topology = Topology::new(namespace)?;
        let conn = lapin::Connection::connect(amqp_url, lapin::ConnectionProperties::default())
            .await
            .map_err(unavailable)?;
        for queue in topology.all_queues() {
            // A missing queue closes the channel, so each delete gets its own.
            let channel = conn.create_channel().await.map_err(unavailable)?;
            let _ = channel.queue_delete(queue, Default::default()).await;
        }
        let _ = conn.close(200, "namespace deleted").await;
        Ok(())
    }
}

/// Runs one broker operation, bounded in time; a failure means the session is unusable.
async fn op<T>(
    link: &Arc<Link>,
    session: &Session,
    what: &str,
    fut: impl Future<Output = lapin::Result<T>>,
) -> PortResult<T> {
    match tokio::time::timeout(OPERATION_TIMEOUT, fut).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(link.lost(session.generation, format!("{what}: {e}"))),
        Err(_) => Err(link.lost(
            session.generation,
            format!("{what}: no answer within {OPERATION_TIMEOUT:?}"),
        )),
    }
}

impl Inner {
    /// Publishes through the default exchange straight to `queue` and waits for the confirm.
    async fn publish(
        &self,
        session: &Session,
        queue: &str,
        payload: &[u8],
        props: BasicProperties,
    ) -> PortResult<()> {
        let options = BasicPublishOptions {
            mandatory: true,
            ..BasicPublishOptions::default()
        };
        let what = format!("publishing to {queue}");
        let confirm = op(
            &self.link,
            session,
            &what,
            session
                .channel
                .basic_publish("", queue, options, payload, props),
        )
        .await?;
        match op(&self.link, session, &what, confirm).await? {
            Confirmation::Ack(None) => Ok(()),
            Confirmation::Ack(Some(_)) => {
                // Unroutable: the queue was deleted under us. Reconnecting declares it again.
                Err(self.link.lost(
                    session.generation,
                    format!("queue {queue} does not exist; the message was returned"),
                ))
            }
            Confirmation::Nack(_) => Err(unavailable(format!(
                "the broker refused the message for {queue} (negative confirm)"
            ))),
            Confirmation::NotRequested => Err(unavailable(
                "the channel is not in confirm mode; the message may not be stored",
            )),
        }
    }

    async fn count(&self, session: &Session, queue: &str) -> PortResult<u64> {
        let what = format!("counting the jobs in {queue}");
        let fut = topology::ready_count(&session.channel, queue);
        op(&self.link, session, &what, fut).await
    }

    /// A message no worker can run (not a job envelope of a known version) goes to the dead
    /// queue as it is, with the reason, so an operator can read it; it is not retried.
    async fn park_unreadable(
        &self,
        session: &Session,
        d: lapin::message::Delivery,
        attempt: u32,
        reason: &str,
    ) -> PortResult<()> {
        tracing::warn!(%reason, "unreadable job moved to the dead-letter queue");
        let props = message::properties(attempt, Some(reason));
        let dead = &self.link.topology.dead;
        if let Err(e) = self.publish(session, dead, &d.data, props).await {
            // Hand it back rather than leave it taken by nobody until the connection closes.
            let requeue = BasicNackOptions {
                requeue: true,
                ..BasicNackOptions::default()
            };
            let _ = tokio::time::timeout(OPERATION_TIMEOUT, d.acker.nack(requeue)).await;
            return Err(e);
        }
        let ack = d.acker.ack(BasicAckOptions::default());
        op(&self.link, session, "acknowledging", ack).await
    }

    /// Takes a held delivery out of the table, for settling it on the live session.
    fn take(&self, tag: &str, session: &Session) -> PortResult<Held> {
        let held = self.held.lock().expect("held lock").remove(tag);
        match held {
            Some(h) if h.generation == session.generation => {
                h.lease.abort();
                Ok(h)
            }
            _ => Err(PortError::Conflict(format!(
                "job delivery {tag} is no longer held by this worker (its lease ran out or the \
                 RabbitMQ connection it came on was lost); RabbitMQ delivers the job again"
            ))),
        }
    }

    /// Gives a delivery back to the queue now (its lease ran out, or settling it failed).
    async fn requeue(&self, held: Held) {
        if self.link.generation() != Some(held.generation) {
            return; // its connection is gone: the broker has already taken it back
        }
        let nack = held.acker.nack(BasicNackOptions {
            requeue: true,
            ..BasicNackOptions::default()
        });
        if tokio::time::timeout(OPERATION_TIMEOUT, nack).await.is_err() {
            tracing::warn!("no answer from RabbitMQ while returning a job to the queue");
        }
    }

    fn hold(self: &Arc<Self>, tag: String, generation: u64, acker: Acker, lease: Duration) {
        let weak = Arc::downgrade(self);
        let mut held = self.held.lock().expect("held lock");
        let timer_tag = tag.clone();
        // The timer takes the lock after the insert below, so even a zero lease finds it.
        let timer = tokio::spawn(async move {
            tokio::time::sleep(lease).await;
            let Some(inner) = weak.upgrade() else { return };
            let expired = inner.held.lock().expect("held lock").remove(&timer_tag);
            if let Some(h) = expired {
                tracing::warn!(tag = %timer_tag, ?lease, "job lease ran out; returning it to the queue");
                inner.requeue(h).await;
            }
        });
        held.insert(
            tag,
            Held {
                generation,
                acker,
                lease: timer.abort_handle(),
            },
        );
    }
}

#[async_trait]
impl JobQueue for RabbitQueue {
    async fn publish(&self, envelope: &Envelope) -> PortResult<()> {
        let session = self.inner.link.session()?;
        let props = message::properties(1, None);
        let jobs = &self.inner.link.topology.jobs;
        self.inner
            .publish(&session, jobs, envelope.to_json().as_bytes(), props)
            .await
    }

    async fn receive(&self, lease: Duration) -> PortResult<Option<Delivery>> {
        let inner = &self.inner;
        let session = inner.link.session()?;
        let jobs = &inner.link.topology.jobs;
        let deadline = Instant::now() + RECEIVE_WAIT;
        loop {
            let next = session.next_delivery(jobs, deadline).await;
            let Some(d) = next.map_err(|e| inner.link.lost(session.generation, e))? else {
                return Ok(None);
            };
            let attempt = message::attempt(&d.properties, d.redelivered);
            let envelope = std::str::from_utf8(&d.data)
                .map_err(|e| format!("job message is not UTF-8: {e}"))
                .and_then(Envelope::from_json);
            match envelope {
                Ok(envelope) => {
                    let tag = format!(
                        "{:08x}.{}",
                        inner.handle_id,
                        message::tag(session.generation, d.delivery_tag)
                    );
                    inner.hold(tag.clone(), session.generation, d.acker, lease);
                    return Ok(Some(Delivery {
                        tag,
                        envelope,
                        attempt,
                    }));
                }
                Err(reason) => inner.park_unreadable(&session, d, attempt, &reason).await?,
            }
        }
    }

    async fn ack(&self, delivery: &Delivery) -> PortResult<()> {
        let session = self.inner.link.session()?;
        let held = self.inner.take(&delivery.tag, &session)?;
        let ack = held.acker.ack(BasicAckOptions::default());
        op(&self.inner.link, &session, "acknowledging", ack).await
    }

    async fn retry(&self, delivery: &Delivery, delay: Duration, error: &str) -> PortResult<()> {
        let inner = &self.inner;
        let session = inner.link.session()?;
        let held = inner.take(&delivery.tag, &session)?;
        let bucket = &inner.link.topology.bucket_for(delay).name;
        let next_attempt = delivery.attempt.saturating_add(1);
        let props = message::with_expiration(message::properties(next_attempt, Some(error)), delay);
        let payload = delivery.envelope.to_json();
        if let Err(e) = inner
            .publish(&session, bucket, payload.as_bytes(), props)
            .await
        {
            inner.requeue(held).await;
            return Err(e);
        }
        let ack = held.acker.ack(BasicAckOptions::default());
        op(&inner.link, &session, "acknowledging", ack).await
    }

    async fn dead_letter(&self, delivery: &Delivery, error: &str) -> PortResult<()> {
        let inner = &self.inner;
        let session = inner.link.session()?;
        let held = inner.take(&delivery.tag, &session)?;
        let props = message::properties(delivery.attempt, Some(error));
        let payload = delivery.envelope.to_json();
        let dead = &inner.link.topology.dead;
        if let Err(e) = inner
            .publish(&session, dead, payload.as_bytes(), props)
            .await
        {
            inner.requeue(held).await;
            return Err(e);
        }
        let ack = held.acker.ack(BasicAckOptions::default());
        op(&inner.link, &session, "acknowledging", ack).await
    }

    /// `ready`, `delayed` and `dead` are the broker's counts for the whole namespace (plus the
    /// jobs this handle has prefetched but not handed out, which the broker no longer counts
    /// as ready). `in_flight` is this handle's own: RabbitMQ does not report unacknowledged
    /// messages through AMQP, so jobs held by other processes are not in it.
    async fn stats(&self) -> PortResult<QueueStats> {
        let inner = &self.inner;
        let session = inner.link.session()?;
        let t = &inner.link.topology;
        let ready = inner.count(&session, &t.jobs).await? + session.buffered();
        let dead = inner.count(&session, &t.dead).await?;
        let mut delayed = 0;
        for bucket in &t.retry {
            delayed += inner.count(&session, &bucket.name).await?;
        }
        let in_flight = inner
            .held
            .lock()
            .expect("held lock")
            .values()
            .filter(|h| h.generation == session.generation)
            .count() as u64;
        Ok(QueueStats {
            ready,
            in_flight,
            delayed,
            dead,
        })
    }
}

impl std::fmt::Debug for RabbitQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RabbitQueue")
            .field("queue", &self.inner.link.topology.jobs)
            .field("engine", &ENGINE)
            .finish()
    }
}
