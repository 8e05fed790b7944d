-- Amendments of published course results. Each carries its new scores as a sheet ("add rows"
-- mode) that stays held until every reviewer of its chain has approved. The chain is kept as
-- configured when the amendment was asked for ("hod,dean,senate"); approvals and a rejection
-- are JSON ([{"role","by","at_ms"}], {"role","by","at_ms","reason"}), and approved_steps
-- counts the approvals so that a decision can be taken only at the step it was made for.
CREATE TABLE amendments (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sheet_id        BIGINT NOT NULL UNIQUE REFERENCES sheets (id),
    course_code     TEXT NOT NULL REFERENCES courses (code),
    session         INTEGER NOT NULL,
    semester        INTEGER NOT NULL CHECK (semester IN (1, 2)),
    reason          TEXT NOT NULL,
    requested_by    TEXT NOT NULL,
    requested_at_ms BIGINT NOT NULL,
    chain           TEXT NOT NULL,
    status          TEXT NOT NULL
        CHECK (status IN ('pending', 'approved', 'applied', 'rejected')),
    approved_steps  INTEGER NOT NULL DEFAULT 0,
    approvals       TEXT NOT NULL DEFAULT '[]',
    rejection       TEXT,
    applied_at_ms   BIGINT
);
CREATE INDEX amendments_by_term ON amendments (course_code, session, semester, id);
CREATE INDEX amendments_by_status ON amendments (status, id);
