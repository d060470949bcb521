-- The transactional outbox: messages are written in the transaction of the change that causes
-- them and delivered later, at least once, by the dispatcher.
CREATE TABLE outbox (
    id               TEXT PRIMARY KEY,
    channel          TEXT NOT NULL CHECK (channel IN ('email', 'webhook')),
    -- E-mail address, or the partner id for webhooks.
    recipient        TEXT NOT NULL,
    -- Template (e-mail) or event type (webhook).
    topic            TEXT NOT NULL,
    locale           TEXT NOT NULL,
    payload          TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'dead')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TIMESTAMP NOT NULL,
    lease_until      TIMESTAMP,
    last_error       TEXT,
    created_at       TIMESTAMP NOT NULL,
    sent_at          TIMESTAMP
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
CREATE INDEX outbox_recipient ON outbox (recipient, sent_at);
