//! PostgreSQL adapter: record store with a transactional outbox.
