-- Donors' own receipts (issue 42): a one-time link, valid 24 hours, sent to the address that
-- gave. Neither the address nor the token is stored: the token's SHA-256 and a keyed hash of
-- the address (for the per-address limit), with the pledges whose receipts it opens.
CREATE TABLE receipt_links (
    token_hash   TEXT PRIMARY KEY,
    email_key    TEXT NOT NULL,
    -- JSON array of pledge ids (at most 100), resolved again when the link is opened.
    pledge_ids   TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    expires_at   TIMESTAMP NOT NULL,
    used_at      TIMESTAMP
);
CREATE INDEX receipt_links_email ON receipt_links (email_key, created_at);
