-- Refunds end only as the provider reports them: 'pending' (to send, or sent and not yet
-- reported), 'succeeded', or 'needs_attention' (refused, failed at the provider: finance acts).
ALTER TABLE refunds DROP CONSTRAINT IF EXISTS refunds_status_check;
UPDATE refunds SET status = 'succeeded' WHERE status = 'done';
ALTER TABLE refunds ADD CONSTRAINT refunds_status_check
    CHECK (status IN ('pending', 'succeeded', 'needs_attention'));
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
