-- Refunds end only as the provider reports them: 'pending' (to send, or sent and not yet
-- reported), 'succeeded', or 'needs_attention' (refused, failed at the provider: finance acts).
-- SQLite cannot change a CHECK constraint: the table is rebuilt.
CREATE TABLE refunds_new (
    id                  TEXT PRIMARY KEY,
    pledge_id           TEXT NOT NULL UNIQUE REFERENCES pledges(id),
    amount              BIGINT NOT NULL CHECK (amount > 0),
    reason              TEXT NOT NULL,
    status              TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'needs_attention')),
    attempts            INTEGER NOT NULL DEFAULT 0,
    idempotency_key     TEXT NOT NULL,
    provider_refund_id  TEXT,
    last_error          TEXT,
    next_attempt_at     TIMESTAMP NOT NULL,
    created_at          TIMESTAMP NOT NULL,
    updated_at          TIMESTAMP NOT NULL
);
INSERT INTO refunds_new
    SELECT id, pledge_id, amount, reason,
           CASE status WHEN 'done' THEN 'succeeded' ELSE status END,
           attempts, idempotency_key, provider_refund_id, last_error, next_attempt_at,
           created_at, updated_at
    FROM refunds;
DROP TABLE refunds;
ALTER TABLE refunds_new RENAME TO refunds;
CREATE INDEX refunds_due ON refunds (status, next_attempt_at);
CREATE INDEX refunds_provider_refund ON refunds (provider_refund_id);

-- What a flagged payment actually brought in (amount and currency as the provider reported).
ALTER TABLE pledges ADD COLUMN flagged_amount BIGINT;
ALTER TABLE pledges ADD COLUMN flagged_currency TEXT;
CREATE INDEX pledges_flagged ON pledges (id) WHERE flagged_reason IS NOT NULL;

-- The simulated provider's payments, in the database so that a restart or another replica can
-- refund them.
CREATE TABLE simulated_payments (
    id               TEXT PRIMARY KEY,
    idempotency_key  TEXT NOT NULL UNIQUE,
    pledge_id        TEXT NOT NULL,
    amount           BIGINT NOT NULL,
    currency         TEXT NOT NULL,
    status           TEXT NOT NULL,
    refunded         BIGINT NOT NULL DEFAULT 0,
    created_at       TIMESTAMP NOT NULL
);

-- The retention job deletes old provider events by age; erasure finds a donor's by pledge.
CREATE INDEX provider_events_received ON provider_events (received_at);
CREATE INDEX provider_events_pledge ON provider_events (pledge_id);

-- Admins can disable a user or a partner (their tokens stop working) and rotate a partner's
-- client secret (tokens issued before the rotation stop working).
ALTER TABLE users ADD COLUMN disabled_at TIMESTAMP;
ALTER TABLE partners ADD COLUMN disabled_at TIMESTAMP;
ALTER TABLE partners ADD COLUMN secret_rotated_at TIMESTAMP;
