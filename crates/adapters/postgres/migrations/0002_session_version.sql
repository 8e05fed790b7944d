-- Revocable sessions: every token carries the account's session version; a token of an
-- older version is refused. It goes up on a password or role change, sign-out and an
-- administrator's "end sessions".
ALTER TABLE users ADD COLUMN session_version BIGINT NOT NULL DEFAULT 0;
