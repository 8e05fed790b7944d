//! SQLite adapter: record store and the embedded durable job queue in the same file.
