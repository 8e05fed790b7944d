-- Score sheets gain a mode ('replace': the sheet is the course's whole list; 'add_rows': its
-- rows are added to the scores already there), a lecturer's confirmation of the scores a
-- sheet would remove, the changes it made (or would make), and a status for a sheet held
-- until that confirmation. The same file may now be uploaded again after another sheet
-- superseded it (it becomes current again), so its bytes are unique only among the sheets
-- that are not superseded; and since 'add rows' sheets add to the current scores, a term may
-- have several processed sheets, of which at most one replacing sheet (the class list the
-- others add to).
ALTER TABLE sheets ADD COLUMN mode TEXT NOT NULL DEFAULT 'replace'
    CHECK (mode IN ('replace', 'add_rows'));
ALTER TABLE sheets ADD COLUMN removals_confirmed BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE sheets ADD COLUMN changes TEXT;
ALTER TABLE sheets DROP CONSTRAINT sheets_status_check;
ALTER TABLE sheets ADD CONSTRAINT sheets_status_check
    CHECK (status IN ('queued', 'processed', 'held', 'rejected', 'superseded', 'failed'));
ALTER TABLE sheets DROP CONSTRAINT sheets_same_bytes;
CREATE UNIQUE INDEX sheets_same_bytes ON sheets (course_code, session, semester, sha256, mode)
    WHERE status <> 'superseded';
DROP INDEX sheets_one_processed_per_term;
CREATE UNIQUE INDEX sheets_one_processed_list_per_term ON sheets (course_code, session, semester)
    WHERE status = 'processed' AND mode = 'replace';
