-- Issued transcripts and result slips, kept under their verification code: what each said
-- (canonical JSON and its SHA-256), to whom and by whom it was issued, and its revocation.
-- A slip names its semester; a transcript has neither column.
CREATE TABLE documents (
    code            TEXT PRIMARY KEY,
    kind            TEXT NOT NULL CHECK (kind IN ('transcript', 'slip')),
    session         INTEGER,
    semester        INTEGER CHECK (semester IN (1, 2)),
    matric_no       TEXT NOT NULL REFERENCES students (matric_no),
    issued_by       TEXT NOT NULL,
    issued_at_ms    INTEGER NOT NULL,
    content         TEXT NOT NULL,
    content_sha256  TEXT NOT NULL,
    revoked_at_ms   INTEGER,
    revoked_by      TEXT,
    revoke_reason   TEXT,
    CHECK ((kind = 'slip') = (session IS NOT NULL AND semester IS NOT NULL))
);
CREATE INDEX documents_by_student ON documents (matric_no, issued_at_ms);
