-- Forced password change: set for an account the registry created by import or whose
-- password an administrator reset; cleared when the holder sets a password of their own.
ALTER TABLE users ADD COLUMN password_change_required BOOLEAN NOT NULL DEFAULT FALSE;
