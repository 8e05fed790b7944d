-- How often each sheet's processing job was retried, and its latest error: the registry's
-- view of the jobs (the queue itself only keeps totals it can be asked for).
CREATE TABLE sheet_retries (
    sheet_id    INTEGER PRIMARY KEY REFERENCES sheets (id),
    retries     INTEGER NOT NULL,
    last_error  TEXT NOT NULL
);
