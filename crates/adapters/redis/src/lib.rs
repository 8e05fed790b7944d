//! Redis adapter: shared cache and rate-limit counters.
