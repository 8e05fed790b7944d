-- The system of record of eportal's distributed deployment.
--
-- Conventions shared with the SQLite store: times are BIGINT unix milliseconds, a session is
-- the year it starts, a semester is 1 or 2, scores are integer tenths of a mark and GPAs
-- integer hundredths. Uniqueness, references and versions are constraints here, so two
-- portal or worker processes racing each other cannot leave the data inconsistent.

CREATE TABLE institution (
    id          SMALLINT PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    name        TEXT NOT NULL,
    short_name  TEXT NOT NULL,
    policy_json TEXT NOT NULL
);

CREATE TABLE faculties (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL
);

CREATE TABLE departments (
    code         TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    faculty_code TEXT NOT NULL CONSTRAINT departments_faculty_fk REFERENCES faculties (code)
);

CREATE TABLE programmes (
    code            TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    department_code TEXT NOT NULL CONSTRAINT programmes_department_fk REFERENCES departments (code),
    duration_years  INTEGER NOT NULL CHECK (duration_years BETWEEN 0 AND 255)
);

CREATE TABLE students (
    matric_no      TEXT PRIMARY KEY,
    surname        TEXT NOT NULL,
    first_name     TEXT NOT NULL,
    programme_code TEXT NOT NULL CONSTRAINT students_programme_fk REFERENCES programmes (code),
    level          INTEGER NOT NULL CHECK (level BETWEEN 0 AND 65535),
    entry_session  INTEGER NOT NULL
);

CREATE TABLE staff (
    staff_id        TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    department_code TEXT NOT NULL CONSTRAINT staff_department_fk REFERENCES departments (code),
    roles           TEXT[] NOT NULL
);

CREATE TABLE courses (
    code            TEXT PRIMARY KEY,
    title           TEXT NOT NULL,
    units           INTEGER NOT NULL CHECK (units BETWEEN 0 AND 255),
    department_code TEXT NOT NULL CONSTRAINT courses_department_fk REFERENCES departments (code),
    level           INTEGER NOT NULL CHECK (level BETWEEN 0 AND 65535),
    semester        INTEGER NOT NULL CHECK (semester IN (1, 2))
);

CREATE TABLE allocations (
    course_code TEXT NOT NULL CONSTRAINT allocations_course_fk REFERENCES courses (code),
    session     INTEGER NOT NULL,
    semester    INTEGER NOT NULL CHECK (semester IN (1, 2)),
    staff_id    TEXT NOT NULL CONSTRAINT allocations_staff_fk REFERENCES staff (staff_id),
    PRIMARY KEY (course_code, session, semester, staff_id)
);
CREATE INDEX allocations_by_staff ON allocations (staff_id);

CREATE TABLE registrations (
    course_code TEXT NOT NULL CONSTRAINT registrations_course_fk REFERENCES courses (code),
    session     INTEGER NOT NULL,
    semester    INTEGER NOT NULL CHECK (semester IN (1, 2)),
    matric_no   TEXT NOT NULL CONSTRAINT registrations_student_fk REFERENCES students (matric_no),
    PRIMARY KEY (course_code, session, semester, matric_no)
);
CREATE INDEX registrations_by_student ON registrations (matric_no);

CREATE TABLE users (
    username      TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    display_name  TEXT NOT NULL,
    roles         TEXT[] NOT NULL
);

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE sheets (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    course_code     TEXT NOT NULL CONSTRAINT sheets_course_fk REFERENCES courses (code),
    session         INTEGER NOT NULL,
    semester        INTEGER NOT NULL CHECK (semester IN (1, 2)),
    sha256          TEXT NOT NULL,
    size_bytes      BIGINT NOT NULL CHECK (size_bytes >= 0),
    filename        TEXT,
    uploaded_by     TEXT NOT NULL,
    uploaded_at_ms  BIGINT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'queued'
                    CHECK (status IN ('queued', 'processed', 'rejected', 'superseded', 'failed')),
    rows_total      INTEGER NOT NULL DEFAULT 0 CHECK (rows_total >= 0),
    rows_accepted   INTEGER NOT NULL DEFAULT 0 CHECK (rows_accepted >= 0),
    rows_rejected   INTEGER NOT NULL DEFAULT 0 CHECK (rows_rejected >= 0),
    message         TEXT,
    processed_at_ms BIGINT,
    superseded_by   BIGINT CONSTRAINT sheets_superseded_by_fk REFERENCES sheets (id),
    -- The same bytes for the same course term are the same sheet.
    CONSTRAINT sheets_same_bytes UNIQUE (course_code, session, semester, sha256)
);
CREATE INDEX sheets_by_term ON sheets (course_code, session, semester, id);
-- A term's current scores come from exactly one sheet.
CREATE UNIQUE INDEX sheets_one_processed_per_term
    ON sheets (course_code, session, semester) WHERE status = 'processed';

CREATE TABLE row_errors (
    sheet_id BIGINT NOT NULL CONSTRAINT row_errors_sheet_fk REFERENCES sheets (id),
    -- Position in the worker's list, so errors read back in the order they were given.
    ordinal  INTEGER NOT NULL,
    row_no   BIGINT NOT NULL,
    matric   TEXT,
    kind     TEXT NOT NULL,
    message  TEXT NOT NULL,
    PRIMARY KEY (sheet_id, ordinal)
);

-- Every value a student's score in a course term has had. A version is never rewritten.
CREATE TABLE score_versions (
    course_code    TEXT NOT NULL CONSTRAINT score_versions_course_fk REFERENCES courses (code),
    session        INTEGER NOT NULL,
    semester       INTEGER NOT NULL CHECK (semester IN (1, 2)),
    matric_no      TEXT NOT NULL CONSTRAINT score_versions_student_fk REFERENCES students (matric_no),
    version        INTEGER NOT NULL CHECK (version >= 1),
    ca             INTEGER NOT NULL CHECK (ca BETWEEN 0 AND 65535),
    exam           INTEGER NOT NULL CHECK (exam BETWEEN 0 AND 65535),
    total          INTEGER NOT NULL CHECK (total BETWEEN 0 AND 65535),
    grade          TEXT NOT NULL,
    points         INTEGER NOT NULL CHECK (points BETWEEN 0 AND 255),
    sheet_id       BIGINT NOT NULL CONSTRAINT score_versions_sheet_fk REFERENCES sheets (id),
    recorded_at_ms BIGINT NOT NULL,
    PRIMARY KEY (course_code, session, semester, matric_no, version)
);
CREATE INDEX score_versions_by_student ON score_versions (matric_no);

-- Each student's current score in a course term: the rows of the term's latest applied
-- sheet. It repeats the values of the version it names (the foreign key makes sure that
-- version exists), so reading current results never joins the whole history.
CREATE TABLE current_scores (
    course_code TEXT NOT NULL,
    session     INTEGER NOT NULL,
    semester    INTEGER NOT NULL,
    matric_no   TEXT NOT NULL,
    version     INTEGER NOT NULL,
    ca          INTEGER NOT NULL,
    exam        INTEGER NOT NULL,
    total       INTEGER NOT NULL,
    grade       TEXT NOT NULL,
    points      INTEGER NOT NULL,
    sheet_id    BIGINT NOT NULL,
    PRIMARY KEY (course_code, session, semester, matric_no),
    CONSTRAINT current_scores_version_fk FOREIGN KEY (course_code, session, semester, matric_no, version)
        REFERENCES score_versions (course_code, session, semester, matric_no, version)
);
CREATE INDEX current_scores_by_student ON current_scores (matric_no);

CREATE TABLE semester_results (
    matric_no                  TEXT NOT NULL CONSTRAINT semester_results_student_fk REFERENCES students (matric_no),
    session                    INTEGER NOT NULL,
    semester                   INTEGER NOT NULL CHECK (semester IN (1, 2)),
    units                      BIGINT NOT NULL CHECK (units >= 0),
    weighted_points            BIGINT NOT NULL CHECK (weighted_points >= 0),
    gpa                        INTEGER NOT NULL CHECK (gpa >= 0),
    cumulative_units           BIGINT NOT NULL CHECK (cumulative_units >= 0),
    cumulative_weighted_points BIGINT NOT NULL CHECK (cumulative_weighted_points >= 0),
    cgpa                       INTEGER NOT NULL CHECK (cgpa >= 0),
    computed_at_ms             BIGINT NOT NULL,
    PRIMARY KEY (matric_no, session, semester)
);

CREATE TABLE course_results (
    course_code   TEXT NOT NULL CONSTRAINT course_results_course_fk REFERENCES courses (code),
    session       INTEGER NOT NULL,
    semester      INTEGER NOT NULL CHECK (semester IN (1, 2)),
    state         TEXT NOT NULL CHECK (state IN ('draft', 'submitted', 'hod_approved',
                  'faculty_approved', 'senate_approved', 'published', 'returned')),
    reason        TEXT,
    updated_by    TEXT,
    updated_at_ms BIGINT NOT NULL,
    PRIMARY KEY (course_code, session, semester)
);
CREATE INDEX course_results_by_state ON course_results (state);

-- Every workflow transition, in order: who moved which result from where to where, and why.
CREATE TABLE workflow_events (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    course_code TEXT NOT NULL,
    session     INTEGER NOT NULL,
    semester    INTEGER NOT NULL,
    from_state  TEXT NOT NULL,
    to_state    TEXT NOT NULL,
    actor       TEXT NOT NULL,
    reason      TEXT,
    at_ms       BIGINT NOT NULL
);
CREATE INDEX workflow_events_by_term ON workflow_events (course_code, session, semester, id);

-- Jobs waiting to reach the job queue, written in the same transaction as what caused them.
-- A relay claims rows for a while (claimed_by, claimed_until_ms) and marks them published
-- when the queue has confirmed them; a relay that dies lets its claim expire.
CREATE TABLE outbox (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    envelope         TEXT NOT NULL,
    created_at_ms    BIGINT NOT NULL,
    claimed_by       TEXT,
    claimed_until_ms BIGINT,
    published_at_ms  BIGINT
);
CREATE INDEX outbox_unpublished ON outbox (id) WHERE published_at_ms IS NULL;
