-- Queue disciplines: each outbox row carries what the disciplines look at (its sheet's rows,
-- counted or estimated at upload, and the course's department). Under a discipline other
-- than FIFO one relay at a time releases jobs to the broker, in discipline order, keeping only
-- a small window of them waiting there; the relay lease names it. Round-robin remembers when
-- each department was last released (a counter: the highest turn is the most recent).
ALTER TABLE outbox ADD COLUMN rows_hint INTEGER;
ALTER TABLE outbox ADD COLUMN class_key TEXT NOT NULL DEFAULT '';
CREATE TABLE outbox_turns (
    class_key TEXT PRIMARY KEY,
    turn      BIGINT NOT NULL
);
CREATE TABLE outbox_relay_lease (
    id          SMALLINT PRIMARY KEY CHECK (id = 1),
    holder      TEXT NOT NULL,
    until_ms    BIGINT NOT NULL
);
INSERT INTO outbox_relay_lease (id, holder, until_ms) VALUES (1, '', 0);
