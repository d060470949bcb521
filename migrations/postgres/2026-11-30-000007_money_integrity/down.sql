DROP TABLE simulated_payments;
DROP INDEX pledges_flagged;
ALTER TABLE pledges DROP COLUMN flagged_currency;
ALTER TABLE pledges DROP COLUMN flagged_amount;
DROP INDEX refunds_provider_refund;
ALTER TABLE refunds DROP CONSTRAINT refunds_status_check;
UPDATE refunds SET status = 'done' WHERE status = 'succeeded';
UPDATE refunds SET status = 'pending' WHERE status = 'needs_attention';
ALTER TABLE refunds ADD CONSTRAINT refunds_status_check CHECK (status IN ('pending', 'done'));
