//! Contract suite for the queue port (see mod.rs).
