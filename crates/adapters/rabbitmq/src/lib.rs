//! RabbitMQ adapter: the job queue of the distributed deployment, on durable quorum queues
//! (Raft-replicated across the RabbitMQ cluster, so a job survives the loss of a minority of
//! broker nodes).
//!
//! | queue | holds |
//! |---|---|
//! | `{ns}.jobs` | jobs ready to run (quorum; over [`DELIVERY_LIMIT`] lost deliveries → dead) |
//! | `{ns}.jobs.retry.{N}s` | jobs waiting out a retry delay of at most N s; they expire back into `{ns}.jobs` |
//! | `{ns}.jobs.dead` | jobs given up on, with the reason in the `x-error` header |
//!
//! Guarantees: a publish returns only after the broker confirmed it; a job is acknowledged
//! only when the worker reports its effect committed, and moved to a retry or dead queue only
//! after that copy is confirmed; a handle that is dropped, or whose process dies, gives its
//! unacknowledged jobs back to the queue. When the broker goes away, calls fail at once with
//! `PortError::Unavailable { engine: "rabbitmq", .. }` while the handle reconnects in the
//! background.
//!
//! This crate must never be named outside the composition root: everything else sees only
//! `Arc<dyn JobQueue>`.

#![forbid(unsafe_code)]

mod link;
mod message;
mod queue;
mod topology;

pub use queue::RabbitQueue;
pub use topology::DELIVERY_LIMIT;
