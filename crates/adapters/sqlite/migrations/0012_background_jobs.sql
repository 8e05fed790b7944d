-- Background jobs (recomputing stale GPAs, which no lecturer waits on) are served after every
-- other waiting job under lifo, sjf and round_robin, until they have waited the ageing limit
-- (crates/core/src/discipline.rs). Refreshes already queued become background jobs.
ALTER TABLE jobs ADD COLUMN background INTEGER NOT NULL DEFAULT 0 CHECK (background IN (0, 1));
UPDATE jobs SET background = 1 WHERE json_extract(payload, '$.job') = 'RefreshResults';
