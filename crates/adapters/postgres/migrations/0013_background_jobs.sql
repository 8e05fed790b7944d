-- Background jobs (recomputing stale GPAs, which no lecturer waits on) are released after
-- every other waiting job under lifo, sjf and round_robin, until they have waited the ageing
-- limit (crates/core/src/discipline.rs). Refreshes already waiting become background jobs.
ALTER TABLE outbox ADD COLUMN background BOOLEAN NOT NULL DEFAULT false;
UPDATE outbox SET background = true
    WHERE published_at_ms IS NULL AND envelope::jsonb ->> 'job' = 'RefreshResults';
