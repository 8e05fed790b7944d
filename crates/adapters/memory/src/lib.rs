//! In-process cache adapter (moka) with local rate-limit counters.
