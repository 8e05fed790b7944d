-- Queue disciplines: each job carries what the disciplines look at (its sheet's rows, counted
-- or estimated at upload, and the course's department), and round-robin remembers when each
-- department of each queue was last served (a counter, not a clock: the highest turn is the
-- department served most recently).
ALTER TABLE jobs ADD COLUMN rows_hint INTEGER;
ALTER TABLE jobs ADD COLUMN class_key TEXT NOT NULL DEFAULT '';
CREATE TABLE job_turns (
    queue     TEXT NOT NULL,
    class_key TEXT NOT NULL,
    turn      INTEGER NOT NULL,
    PRIMARY KEY (queue, class_key)
);
