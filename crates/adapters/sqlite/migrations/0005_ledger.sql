-- The tamper-evident ledger: every score change and workflow transition, appended in the
-- transaction that makes it. Each entry carries the hash of the one before (hex; the first
-- one's prev_hash is 64 zeros), so an altered, removed or reordered row breaks the chain.
CREATE TABLE ledger (
    seq         INTEGER PRIMARY KEY,
    at_ms       INTEGER NOT NULL,
    actor       TEXT NOT NULL,
    kind        TEXT NOT NULL,
    course_code TEXT NOT NULL,
    session     INTEGER NOT NULL,
    semester    INTEGER NOT NULL,
    matric_no   TEXT,
    body        TEXT NOT NULL,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL
);

-- Ed25519 signatures of the chain's head, by a key kept outside the database.
CREATE TABLE ledger_signatures (
    seq          INTEGER PRIMARY KEY,
    hash         TEXT NOT NULL,
    signature    TEXT NOT NULL,
    key_id       TEXT NOT NULL,
    signed_at_ms INTEGER NOT NULL
);
