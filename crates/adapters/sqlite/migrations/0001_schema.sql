-- The whole embedded system of record and its job queue, in one SQLite file.
-- Times are unix milliseconds, sessions their start year, semesters 1 or 2, scores tenths
-- of a mark, GPAs hundredths: integers only, so nothing is ever a float.

CREATE TABLE institution (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    name        TEXT NOT NULL,
    short_name  TEXT NOT NULL,
    policy      TEXT NOT NULL -- GradingPolicy as JSON
);

CREATE TABLE faculties (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL
);

CREATE TABLE departments (
    code         TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    faculty_code TEXT NOT NULL REFERENCES faculties (code)
);

CREATE TABLE programmes (
    code            TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    department_code TEXT NOT NULL REFERENCES departments (code),
    duration_years  INTEGER NOT NULL
);

CREATE TABLE students (
    matric_no      TEXT PRIMARY KEY,
    surname        TEXT NOT NULL,
    first_name     TEXT NOT NULL,
    programme_code TEXT NOT NULL REFERENCES programmes (code),
    level          INTEGER NOT NULL,
    entry_session  INTEGER NOT NULL
);

CREATE TABLE staff (
    staff_id        TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    department_code TEXT NOT NULL REFERENCES departments (code)
);

CREATE TABLE staff_roles (
    staff_id TEXT NOT NULL REFERENCES staff (staff_id) ON DELETE CASCADE,
    role     TEXT NOT NULL,
    PRIMARY KEY (staff_id, role)
) WITHOUT ROWID;

CREATE TABLE courses (
    code            TEXT PRIMARY KEY,
    title           TEXT NOT NULL,
    units           INTEGER NOT NULL,
    department_code TEXT NOT NULL REFERENCES departments (code),
    level           INTEGER NOT NULL,
    semester        INTEGER NOT NULL CHECK (semester IN (1, 2))
);

CREATE TABLE allocations (
    course_code TEXT NOT NULL REFERENCES courses (code),
    session     INTEGER NOT NULL,
    semester    INTEGER NOT NULL CHECK (semester IN (1, 2)),
    staff_id    TEXT NOT NULL REFERENCES staff (staff_id),
    PRIMARY KEY (course_code, session, semester, staff_id)
) WITHOUT ROWID;
CREATE INDEX allocations_by_staff ON allocations (staff_id);

CREATE TABLE registrations (
    course_code TEXT NOT NULL REFERENCES courses (code),
    session     INTEGER NOT NULL,
    semester    INTEGER NOT NULL CHECK (semester IN (1, 2)),
    matric_no   TEXT NOT NULL REFERENCES students (matric_no),
    PRIMARY KEY (course_code, session, semester, matric_no)
) WITHOUT ROWID;
CREATE INDEX registrations_by_student ON registrations (matric_no);

CREATE TABLE users (
    username      TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    display_name  TEXT NOT NULL,
    roles         TEXT NOT NULL -- comma-separated role names
);

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE sheets (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    course_code     TEXT NOT NULL REFERENCES courses (code),
    session         INTEGER NOT NULL,
    semester        INTEGER NOT NULL CHECK (semester IN (1, 2)),
    sha256          TEXT NOT NULL,
    size_bytes      INTEGER NOT NULL,
    filename        TEXT,
    uploaded_by     TEXT NOT NULL,
    uploaded_at_ms  INTEGER NOT NULL,
    status          TEXT NOT NULL
        CHECK (status IN ('queued', 'processed', 'rejected', 'superseded', 'failed')),
    rows_total      INTEGER NOT NULL DEFAULT 0,
    rows_accepted   INTEGER NOT NULL DEFAULT 0,
    rows_rejected   INTEGER NOT NULL DEFAULT 0,
    message         TEXT,
    processed_at_ms INTEGER,
    superseded_by   INTEGER REFERENCES sheets (id),
    UNIQUE (course_code, session, semester, sha256)
);
CREATE INDEX sheets_by_term_status ON sheets (course_code, session, semester, status, id);

CREATE TABLE sheet_row_errors (
    id       INTEGER PRIMARY KEY,
    sheet_id INTEGER NOT NULL REFERENCES sheets (id),
    row      INTEGER NOT NULL,
    matric   TEXT,
    kind     TEXT NOT NULL,
    message  TEXT NOT NULL
);
CREATE INDEX sheet_row_errors_by_sheet ON sheet_row_errors (sheet_id, row);

-- The current score of each student in each course term: the latest applied sheet's rows.
CREATE TABLE score_records (
    course_code   TEXT NOT NULL REFERENCES courses (code),
    session       INTEGER NOT NULL,
    semester      INTEGER NOT NULL,
    matric_no     TEXT NOT NULL REFERENCES students (matric_no),
    ca            INTEGER NOT NULL,
    exam          INTEGER NOT NULL,
    total         INTEGER NOT NULL,
    grade         TEXT NOT NULL,
    points        INTEGER NOT NULL,
    version       INTEGER NOT NULL,
    sheet_id      INTEGER NOT NULL REFERENCES sheets (id),
    updated_at_ms INTEGER NOT NULL,
    PRIMARY KEY (course_code, session, semester, matric_no)
) WITHOUT ROWID;
CREATE INDEX score_records_by_student ON score_records (matric_no, session, semester);

-- Every score a record has ever had; never updated or deleted.
CREATE TABLE score_record_versions (
    course_code    TEXT NOT NULL,
    session        INTEGER NOT NULL,
    semester       INTEGER NOT NULL,
    matric_no      TEXT NOT NULL,
    version        INTEGER NOT NULL,
    ca             INTEGER NOT NULL,
    exam           INTEGER NOT NULL,
    total          INTEGER NOT NULL,
    grade          TEXT NOT NULL,
    points         INTEGER NOT NULL,
    sheet_id       INTEGER NOT NULL REFERENCES sheets (id),
    recorded_at_ms INTEGER NOT NULL,
    PRIMARY KEY (course_code, session, semester, matric_no, version)
) WITHOUT ROWID;

CREATE TABLE semester_results (
    matric_no                  TEXT NOT NULL REFERENCES students (matric_no),
    session                    INTEGER NOT NULL,
    semester                   INTEGER NOT NULL,
    units                      INTEGER NOT NULL,
    weighted_points            INTEGER NOT NULL,
    gpa                        INTEGER NOT NULL, -- hundredths
    cumulative_units           INTEGER NOT NULL,
    cumulative_weighted_points INTEGER NOT NULL,
    cgpa                       INTEGER NOT NULL, -- hundredths
    PRIMARY KEY (matric_no, session, semester)
) WITHOUT ROWID;

-- Workflow state of a course result; no row means draft.
CREATE TABLE course_results (
    course_code   TEXT NOT NULL REFERENCES courses (code),
    session       INTEGER NOT NULL,
    semester      INTEGER NOT NULL,
    state         TEXT NOT NULL,
    reason        TEXT,
    updated_by    TEXT,
    updated_at_ms INTEGER NOT NULL,
    PRIMARY KEY (course_code, session, semester)
) WITHOUT ROWID;
CREATE INDEX course_results_by_state ON course_results (state);

CREATE TABLE course_result_events (
    id          INTEGER PRIMARY KEY,
    course_code TEXT NOT NULL,
    session     INTEGER NOT NULL,
    semester    INTEGER NOT NULL,
    from_state  TEXT NOT NULL,
    to_state    TEXT NOT NULL,
    actor       TEXT NOT NULL,
    reason      TEXT,
    at_ms       INTEGER NOT NULL
);
CREATE INDEX course_result_events_by_term ON course_result_events (course_code, session, semester);

-- The embedded job queue. A job is 'ready' (delayed while available_at_ms is in the future),
-- 'leased' to one worker until lease_until_ms, or 'dead'. Acknowledged jobs are deleted.
CREATE TABLE jobs (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    queue           TEXT NOT NULL,
    payload         TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('ready', 'leased', 'dead')),
    attempt         INTEGER NOT NULL DEFAULT 0,
    available_at_ms INTEGER NOT NULL,
    lease_token     TEXT,
    lease_until_ms  INTEGER,
    last_error      TEXT,
    created_at_ms   INTEGER NOT NULL,
    updated_at_ms   INTEGER NOT NULL
);
CREATE INDEX jobs_ready ON jobs (queue, state, available_at_ms, id);
CREATE INDEX jobs_leased ON jobs (queue, state, lease_until_ms);
