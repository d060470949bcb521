-- The console's sessions, kept on the server so that signing out ends one everywhere at once
-- (every replica reads this table). The browser's cookie carries only a random session id;
-- the table keeps its SHA-256, so a copy of the table opens no session.
CREATE TABLE console_sessions (
    id_hash     TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users(id),
    created_at  TIMESTAMP NOT NULL,
    expires_at  TIMESTAMP NOT NULL
);
CREATE INDEX console_sessions_user ON console_sessions (user_id);
CREATE INDEX console_sessions_expiry ON console_sessions (expires_at);
