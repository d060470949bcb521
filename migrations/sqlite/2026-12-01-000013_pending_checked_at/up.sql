-- When the provider was last asked about a pending pledge (its creation until then). The job
-- that recovers lost webhooks asks about a pledge once per COFUND_PLEDGE_RECONCILE_AFTER_SECS,
-- not on every pass: a donor who abandons the checkout would otherwise cost a provider call a
-- second until the pledge expires, and fifty such pledges the provider's whole rate limit.
ALTER TABLE pending_pledges ADD COLUMN checked_at TIMESTAMP NOT NULL DEFAULT '1970-01-01 00:00:00';
UPDATE pending_pledges SET checked_at = created_at;
CREATE INDEX pending_pledges_checked ON pending_pledges (checked_at, pledge_id);
