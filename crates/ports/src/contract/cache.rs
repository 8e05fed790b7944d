//! Contract suite for the cache port (see mod.rs).
