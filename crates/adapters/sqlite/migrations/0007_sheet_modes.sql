-- Score sheets gain a mode ("replace": the sheet is the course's whole list; "add_rows": its
-- rows are added to the scores already there), a lecturer's confirmation of the scores a
-- sheet would remove, the changes it made (or would make), and a status for a sheet held
-- until that confirmation. The same file may now be uploaded again after another sheet
-- superseded it (it becomes current again), so its bytes are unique only among the sheets
-- that are not superseded.
--
-- SQLite cannot drop a table constraint, so the table is rebuilt. Renamed the legacy way,
-- the other tables' references keep naming "sheets", which is the new table once it exists.
PRAGMA legacy_alter_table = ON;
ALTER TABLE sheets RENAME TO sheets_before_modes;
DROP INDEX sheets_by_term_status;
CREATE TABLE sheets (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    course_code        TEXT NOT NULL REFERENCES courses (code),
    session            INTEGER NOT NULL,
    semester           INTEGER NOT NULL CHECK (semester IN (1, 2)),
    sha256             TEXT NOT NULL,
    size_bytes         INTEGER NOT NULL,
    filename           TEXT,
    uploaded_by        TEXT NOT NULL,
    uploaded_at_ms     INTEGER NOT NULL,
    status             TEXT NOT NULL
        CHECK (status IN ('queued', 'processed', 'held', 'rejected', 'superseded', 'failed')),
    rows_total         INTEGER NOT NULL DEFAULT 0,
    rows_accepted      INTEGER NOT NULL DEFAULT 0,
    rows_rejected      INTEGER NOT NULL DEFAULT 0,
    message            TEXT,
    processed_at_ms    INTEGER,
    superseded_by      INTEGER REFERENCES sheets (id),
    mode               TEXT NOT NULL DEFAULT 'replace' CHECK (mode IN ('replace', 'add_rows')),
    removals_confirmed INTEGER NOT NULL DEFAULT 0 CHECK (removals_confirmed IN (0, 1)),
    changes            TEXT
);
INSERT INTO sheets (id, course_code, session, semester, sha256, size_bytes, filename,
    uploaded_by, uploaded_at_ms, status, rows_total, rows_accepted, rows_rejected, message,
    processed_at_ms, superseded_by)
SELECT id, course_code, session, semester, sha256, size_bytes, filename, uploaded_by,
    uploaded_at_ms, status, rows_total, rows_accepted, rows_rejected, message,
    processed_at_ms, superseded_by
FROM sheets_before_modes;
DROP TABLE sheets_before_modes;
PRAGMA legacy_alter_table = OFF;
CREATE INDEX sheets_by_term_status ON sheets (course_code, session, semester, status, id);
CREATE UNIQUE INDEX sheets_same_bytes ON sheets (course_code, session, semester, sha256, mode)
    WHERE status <> 'superseded';
-- A term's scores are one class list (its processed replacing sheet) and the rows added to it.
CREATE UNIQUE INDEX sheets_one_processed_list_per_term ON sheets (course_code, session, semester)
    WHERE status = 'processed' AND mode = 'replace';
