//! The connection to RabbitMQ and its recovery. A [`Session`] is one AMQP connection with one
//! channel in confirm mode (publishes, acknowledgements and passive declares all go through
//! it) and, once the handle first asks for work, one consumer. A [`Link`] holds the current
//! session; when it dies, the link goes down, every call fails at once with `Unavailable`, and
//! one background task reconnects with jittered exponential backoff, declaring the topology
//! again before the link comes back up under a new generation number.
//!
//! This module must never block a caller on reconnection, and never hand out a session whose
//! connection it already knows to be dead.
//!
//! lapin runs its own I/O thread and, unless told otherwise, its own small executor; its
//! futures work under any runtime, so a handle is not tied to the tokio runtime that made it
//! (tests each have their own). Background work of ours (the consumer pump, reconnection)
//! runs on the tokio runtime that opened the link.

use crate::topology::Topology;
use eportal_ports::PortError;
use futures_util::StreamExt;
use lapin::message::Delivery;
use lapin::options::{BasicConsumeOptions, BasicQosOptions, ConfirmSelectOptions};
use lapin::types::{FieldTable, LongString};
use lapin::uri::AMQPUri;
use lapin::{Channel, Connection, ConnectionProperties};
use rand::Rng;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::{timeout, Instant};

pub(crate) const ENGINE: &str = "rabbitmq";

/// Longest wait for a connection (TCP, AMQP handshake, topology) before counting it failed.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Backoff between reconnection attempts: doubles from the base up to the cap, then each wait
/// is scaled by a random factor in [0.5, 1.0] so that many workers do not reconnect in step.
const BACKOFF_BASE: Duration = Duration::from_millis(200);
const BACKOFF_CAP: Duration = Duration::from_secs(10);

pub(crate) fn unavailable(e: impl std::fmt::Display) -> PortError {
    PortError::unavailable(ENGINE, e)
}

pub(crate) fn backoff(failures: u32) -> Duration {
    let exp = BACKOFF_BASE.saturating_mul(1u32 << failures.min(16));
    let capped = exp.min(BACKOFF_CAP);
    capped.mul_f64(rand::thread_rng().gen_range(0.5..=1.0))
}

pub(crate) struct Session {
    pub generation: u64,
    connection: Connection,
    pub channel: Channel,
    /// Deliveries pushed by the broker (up to the prefetch) and not yet handed to a caller.
    inbox: tokio::sync::Mutex<Option<mpsc::UnboundedReceiver<lapin::Result<Delivery>>>>,
    buffered: Arc<AtomicUsize>,
    prefetch: u16,
}

impl Session {
    async fn open(link: &Link, generation: u64) -> lapin::Result<Session> {
        let props = ConnectionProperties::default()
            .with_connection_name(LongString::from(link.connection_name.as_str()));
        let connection = Connection::connect_uri(link.uri.clone(), props).await?;
        let channel = connection.create_channel().await?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        link.topology.declare(&channel).await?;
        Ok(Session {
            generation,
            connection,
            channel,
            inbox: tokio::sync::Mutex::new(None),
            buffered: Arc::new(AtomicUsize::new(0)),
            prefetch: link.prefetch,
        })
    }

    pub fn alive(&self) -> bool {
        self.connection.status().connected() && self.channel.status().connected()
    }

    /// Deliveries the broker has pushed to this session that no caller has taken yet.
    pub fn buffered(&self) -> u64 {
        self.buffered.load(Ordering::SeqCst) as u64
    }

    /// The next delivery from `queue`, waiting until `deadline`. The consumer is started on
    /// the first call only, so a handle that only publishes (the outbox relay) never takes
    /// jobs it will not run. An error means the session is unusable, and says why.
    pub async fn next_delivery(
        &self,
        queue: &str,
        deadline: Instant,
    ) -> Result<Option<Delivery>, String> {
        let Ok(mut inbox) = tokio::time::timeout_at(deadline, self.inbox.lock()).await else {
            return Ok(None);
        };
        if inbox.is_none() {
            let started = self.start_consumer(queue).await;
            *inbox = Some(started.map_err(|e| format!("consuming from {queue}: {e}"))?);
        }
        let rx = inbox.as_mut().expect("the consumer was just started");
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Err(_) => Ok(None),
            Ok(Some(item)) => {
                self.buffered.fetch_sub(1, Ordering::SeqCst);
                item.map(Some)
                    .map_err(|e| format!("consuming from {queue}: {e}"))
            }
            Ok(None) => Err(format!("the broker stopped the consumer of queue {queue}")),
        }
    }

    async fn start_consumer(
        &self,
        queue: &str,
    ) -> lapin::Result<mpsc::UnboundedReceiver<lapin::Result<Delivery>>> {
        self.channel
            .basic_qos(self.prefetch, BasicQosOptions::default())
            .await?;
        let mut consumer = self
            .channel
            .basic_consume(
                queue,
                "eportal-worker",
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await?;
        let (tx, rx) = mpsc::unbounded_channel();
        let buffered = self.buffered.clone();
        // The pump ends when the consumer does (channel closed) or when the session is
        // dropped (the receiver goes away), dropping the consumer with it.
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = tx.closed() => break,
                    next = consumer.next() => {
                        let Some(item) = next else { break };
                        let failed = item.is_err();
                        buffered.fetch_add(1, Ordering::SeqCst);
                        if tx.send(item).is_err() || failed {
                            break;
                        }
                    }
                }
            }
        });
        Ok(rx)
    }
}

enum State {
    Up(Arc<Session>),
    Down { reason: String },
}

pub(crate) struct Link {
    uri: AMQPUri,
    pub topology: Topology,
    prefetch: u16,
    connection_name: String,
    state: Mutex<State>,
    generations: AtomicU64,
    runtime: tokio::runtime::Handle,
}

impl Link {
    /// Opens the first session; unlike later reconnections, a failure here is returned.
    pub async fn open(
        uri: AMQPUri,
        topology: Topology,
        prefetch: u16,
    ) -> Result<Arc<Link>, PortError> {
        let link = Arc::new(Link {
            uri,
            connection_name: format!("eportal {}", topology.jobs),
            topology,
            prefetch,
            state: Mutex::new(State::Down {
                reason: "not connected yet".into(),
            }),
            generations: AtomicU64::new(0),
            runtime: tokio::runtime::Handle::current(),
        });
        let session = match timeout(CONNECT_TIMEOUT, Session::open(&link, 1)).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => return Err(describe_open_error(e)),
            Err(_) => {
                return Err(unavailable(format!(
                    "no answer from the broker within {CONNECT_TIMEOUT:?}"
                )))
            }
        };
        link.generations.store(1, Ordering::SeqCst);
        link.install(session);
        Ok(link)
    }

    /// The live session, or `Unavailable` at once while the link is down.
    pub fn session(self: &Arc<Self>) -> Result<Arc<Session>, PortError> {
        let session = match &*self.state.lock().expect("link state lock") {
            State::Up(s) => s.clone(),
            State::Down { reason } => {
                return Err(unavailable(format!(
                    "connection lost ({reason}); reconnecting in the background"
                )))
            }
        };
        if session.alive() {
            Ok(session)
        } else {
            self.lost(session.generation, "the connection or channel was closed");
            Err(unavailable(
                "connection lost; reconnecting in the background",
            ))
        }
    }

    /// The generation of the live session, if the link is up.
    pub fn generation(&self) -> Option<u64> {
        match &*self.state.lock().expect("link state lock") {
            State::Up(s) if s.alive() => Some(s.generation),
            _ => None,
        }
    }

    /// Marks session `generation` dead (if it is still the current one) and starts the
    /// reconnection task. Returns the error callers should see.
    pub fn lost(self: &Arc<Self>, generation: u64, reason: impl std::fmt::Display) -> PortError {
        let reason = reason.to_string();
        let mut state = self.state.lock().expect("link state lock");
        if matches!(&*state, State::Up(s) if s.generation == generation) {
            tracing::warn!(queue = %self.topology.jobs, %reason, "RabbitMQ connection lost; reconnecting");
            let old = std::mem::replace(
                &mut *state,
                State::Down {
                    reason: reason.clone(),
                },
            );
            drop(state);
            // Dropping the session (outside the lock) closes what is left of its connection,
            // so the broker returns its unacknowledged deliveries to the queue.
            drop(old);
            self.runtime.spawn(reconnect(Arc::downgrade(self)));
        }
        unavailable(reason)
    }

    fn install(self: &Arc<Self>, session: Session) {
        let weak = Arc::downgrade(self);
        let generation = session.generation;
        let on_error = move |e: lapin::Error| {
            if let Some(link) = weak.upgrade() {
                link.lost(generation, e);
            }
        };
        session.connection.on_error(on_error.clone());
        session.channel.on_error(on_error);
        *self.state.lock().expect("link state lock") = State::Up(Arc::new(session));
    }
}

async fn reconnect(weak: Weak<Link>) {
    let mut failures = 0u32;
    loop {
        tokio::time::sleep(backoff(failures)).await;
        let Some(link) = weak.upgrade() else { return };
        let generation = link.generations.fetch_add(1, Ordering::SeqCst) + 1;
        let error = match timeout(CONNECT_TIMEOUT, Session::open(&link, generation)).await {
            Ok(Ok(session)) => {
                tracing::info!(queue = %link.topology.jobs, generation, "RabbitMQ connection restored");
                link.install(session);
                return;
            }
            Ok(Err(e)) => e.to_string(),
            Err(_) => format!("no answer within {CONNECT_TIMEOUT:?}"),
        };
        failures = failures.saturating_add(1);
        tracing::debug!(queue = %link.topology.jobs, failures, %error, "RabbitMQ reconnection failed");
        *link.state.lock().expect("link state lock") = State::Down {
            reason: format!("{error}; {failures} reconnection attempt(s) failed"),
        };
    }
}

/// A first connection that fails because of the queues (declared with other arguments by
/// something else) is a configuration problem, not an outage: say so.
fn describe_open_error(e: lapin::Error) -> PortError {
    let text = e.to_string();
    if text.contains("PRECONDITION_FAILED") || text.contains("inequivalent arg") {
        PortError::Invalid(format!(
            "RabbitMQ refused the job queues: {text} (a queue of that name exists with other \
             settings; delete it or choose another namespace)"
        ))
    } else {
        unavailable(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_is_capped_and_jittered() {
        for failures in 0..40 {
            let ceiling = BACKOFF_BASE
                .saturating_mul(1u32 << failures.min(16))
                .min(BACKOFF_CAP);
            let d = backoff(failures);
            assert!(d <= ceiling && d >= ceiling / 2, "{failures}: {d:?}");
        }
        assert!(backoff(40) >= BACKOFF_CAP / 2);
        let draws: std::collections::HashSet<_> = (0..20).map(|_| backoff(5)).collect();
        assert!(draws.len() > 1, "jitter must vary the wait");
    }
}
