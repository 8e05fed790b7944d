-- Students whose stored semester results (GPA, CGPA) an applied sheet has made stale: an
-- apply marks them, in its own transaction, and a RefreshResults job recomputes and clears
-- them, so a burst of sheets recomputes each student once rather than once a sheet.
-- No foreign key: only an apply marks, and only students whose records it has just changed
-- (checked against students there); a check per mark would cost an apply as much again.
CREATE TABLE results_stale (
    matric_no    TEXT PRIMARY KEY,
    marked_at_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX results_stale_by_age ON results_stale (marked_at_ms, matric_no);
