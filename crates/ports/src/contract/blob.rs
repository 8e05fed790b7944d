//! Contract suite for the blob port (see mod.rs).
