-- Grading policy books (policy versions by cohort, and regrades). Every version ever stored
-- is kept; the active one is the highest version with activated_at_ms set. A book is never
-- changed once stored: a change is a new version, switched to by its regrade's commit.
CREATE TABLE policy_books (
    version         INTEGER PRIMARY KEY CHECK (version >= 1),
    book            TEXT NOT NULL, -- PolicyBook as JSON, its "version" field = version
    created_at_ms   BIGINT NOT NULL,
    created_by      TEXT NOT NULL,
    activated_at_ms BIGINT
);

-- A regrade to a new book: map tasks, then reduce tasks, then one commit that switches.
CREATE TABLE regrades (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    from_version   INTEGER NOT NULL,
    to_version     INTEGER NOT NULL REFERENCES policy_books (version),
    status         TEXT NOT NULL
                   CHECK (status IN ('mapping', 'reducing', 'committing', 'done', 'failed')),
    map_parts      INTEGER NOT NULL CHECK (map_parts >= 1),
    reduce_parts   INTEGER NOT NULL CHECK (reduce_parts >= 1),
    maps_done      INTEGER NOT NULL DEFAULT 0 CHECK (maps_done BETWEEN 0 AND map_parts),
    reduces_done   INTEGER NOT NULL DEFAULT 0 CHECK (reduces_done BETWEEN 0 AND reduce_parts),
    records        BIGINT NOT NULL DEFAULT 0,
    changed        BIGINT NOT NULL DEFAULT 0,
    students       BIGINT NOT NULL DEFAULT 0,
    started_by     TEXT NOT NULL,
    started_at_ms  BIGINT NOT NULL,
    finished_at_ms BIGINT,
    message        TEXT
);
-- At most one regrade runs at a time (start_regrade checks first, to say which one).
CREATE UNIQUE INDEX regrades_one_running ON regrades ((TRUE))
    WHERE status IN ('mapping', 'reducing', 'committing');

-- One row per task done, written with its output: a redelivered task finds it and stops.
CREATE TABLE regrade_tasks (
    regrade_id BIGINT NOT NULL REFERENCES regrades (id),
    phase      TEXT NOT NULL CHECK (phase IN ('map', 'reduce')),
    part       INTEGER NOT NULL CHECK (part >= 0),
    done_at_ms BIGINT NOT NULL,
    PRIMARY KEY (regrade_id, phase, part)
);

-- Map output (the shuffle): graded rows, found by the reducers through reduce_part.
-- Removed by the commit (or when the regrade fails).
CREATE TABLE regrade_grades (
    regrade_id    BIGINT NOT NULL,
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
);
CREATE INDEX regrade_grades_by_part ON regrade_grades (regrade_id, reduce_part);

-- Reduce output: students' semester results under the new book.
CREATE TABLE regrade_results (
    regrade_id                 BIGINT NOT NULL,
    matric_no                  TEXT NOT NULL,
    session                    INTEGER NOT NULL,
    semester                   INTEGER NOT NULL,
    units                      BIGINT NOT NULL,
    weighted_points            BIGINT NOT NULL,
    gpa                        INTEGER NOT NULL,
    cumulative_units           BIGINT NOT NULL,
    cumulative_weighted_points BIGINT NOT NULL,
    cgpa                       INTEGER NOT NULL,
    PRIMARY KEY (regrade_id, matric_no, session, semester)
);

-- Version 1 is the policy stored with the institution, where there is one. json (not jsonb)
-- keeps the policy's text as it was written.
INSERT INTO policy_books (version, book, created_at_ms, created_by, activated_at_ms)
SELECT 1, json_build_object('version', 1, 'default', policy_json::json)::text, 0, 'migration', 0
FROM institution;
