//! Contract suite for the store port (see mod.rs).
