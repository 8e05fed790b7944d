-- Grading policy books (issue: policy versions by cohort, and regrades). Every version ever
-- stored is kept; the active one is the highest version with activated_at_ms set.
CREATE TABLE policy_books (
    version         INTEGER PRIMARY KEY,
    book            TEXT NOT NULL, -- PolicyBook as JSON
    created_at_ms   INTEGER NOT NULL,
    created_by      TEXT NOT NULL,
    activated_at_ms INTEGER
);

-- A regrade to a new book: map tasks, then reduce tasks, then one commit that switches.
CREATE TABLE regrades (
    id             INTEGER PRIMARY KEY,
    from_version   INTEGER NOT NULL,
    to_version     INTEGER NOT NULL REFERENCES policy_books (version),
    status         TEXT NOT NULL, -- mapping | reducing | committing | done | failed
    map_parts      INTEGER NOT NULL,
    reduce_parts   INTEGER NOT NULL,
    maps_done      INTEGER NOT NULL DEFAULT 0,
    reduces_done   INTEGER NOT NULL DEFAULT 0,
    records        INTEGER NOT NULL DEFAULT 0,
    changed        INTEGER NOT NULL DEFAULT 0,
    students       INTEGER NOT NULL DEFAULT 0,
    started_by     TEXT NOT NULL,
    started_at_ms  INTEGER NOT NULL,
    finished_at_ms INTEGER,
    message        TEXT
);

-- One row per task done, written with its output: a redelivered task finds it and stops.
CREATE TABLE regrade_tasks (
    regrade_id INTEGER NOT NULL REFERENCES regrades (id),
    phase      TEXT NOT NULL, -- map | reduce
    part       INTEGER NOT NULL,
    done_at_ms INTEGER NOT NULL,
    PRIMARY KEY (regrade_id, phase, part)
) WITHOUT ROWID;

-- Map output (the shuffle): graded rows, found by the reducers through reduce_part.
CREATE TABLE regrade_grades (
    regrade_id    INTEGER NOT NULL,
    matric_no     TEXT NOT NULL,
    course_code   TEXT NOT NULL,
    session       INTEGER NOT NULL,
    semester      INTEGER NOT NULL,
    reduce_part   INTEGER NOT NULL,
    units         INTEGER NOT NULL,
    total         INTEGER NOT NULL,
    score_version INTEGER NOT NULL,
    entry_session INTEGER NOT NULL,
    grade         TEXT NOT NULL,
    points        INTEGER NOT NULL,
    PRIMARY KEY (regrade_id, matric_no, course_code, session, semester)
) WITHOUT ROWID;
CREATE INDEX regrade_grades_by_part ON regrade_grades (regrade_id, reduce_part);

-- Reduce output: students' semester results under the new book.
CREATE TABLE regrade_results (
    regrade_id                 INTEGER NOT NULL,
    matric_no                  TEXT NOT NULL,
    session                    INTEGER NOT NULL,
    semester                   INTEGER NOT NULL,
    units                      INTEGER NOT NULL,
    weighted_points            INTEGER NOT NULL,
    gpa                        INTEGER NOT NULL,
    cumulative_units           INTEGER NOT NULL,
    cumulative_weighted_points INTEGER NOT NULL,
    cgpa                       INTEGER NOT NULL,
    PRIMARY KEY (regrade_id, matric_no, session, semester)
) WITHOUT ROWID;

-- Version 1 is the policy stored with the institution, where there is one.
INSERT INTO policy_books (version, book, created_at_ms, created_by, activated_at_ms)
SELECT 1, json_object('version', 1, 'default', json(policy)), 0, 'migration', 0
FROM institution;
