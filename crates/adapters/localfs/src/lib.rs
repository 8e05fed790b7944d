//! Local filesystem blob store, content-addressed by SHA-256.
