//! RabbitMQ adapter: job queue on durable quorum queues.
