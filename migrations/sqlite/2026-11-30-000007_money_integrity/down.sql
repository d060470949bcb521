DROP INDEX provider_events_pledge;
DROP INDEX provider_events_received;
DROP TABLE simulated_payments;
DROP INDEX pledges_flagged;
ALTER TABLE pledges DROP COLUMN flagged_currency;
ALTER TABLE pledges DROP COLUMN flagged_amount;
DROP INDEX refunds_provider_refund;
UPDATE refunds SET status = 'pending' WHERE status = 'needs_attention';
