-- Back to one batch line per campaign and no grants (for development databases: money moved
-- against grants cannot be described without them).
DROP INDEX settlement_lines_tranche;
ALTER TABLE settlement_lines DROP CONSTRAINT settlement_lines_pkey;
CREATE TEMPORARY TABLE lines_by_campaign AS
SELECT settlement_id, MIN(item_id) AS item_id, campaign_id, SUM(amount)::BIGINT AS amount
  FROM settlement_lines GROUP BY settlement_id, campaign_id;
DELETE FROM settlement_lines;
ALTER TABLE settlement_lines DROP COLUMN tranche_id;
ALTER TABLE settlement_lines DROP COLUMN tranche;
INSERT INTO settlement_lines (settlement_id, item_id, campaign_id, amount)
SELECT settlement_id, item_id, campaign_id, amount FROM lines_by_campaign;
DROP TABLE lines_by_campaign;
ALTER TABLE settlement_lines ADD PRIMARY KEY (settlement_id, campaign_id);
DROP TABLE grant_expense_documents;
DROP TABLE grant_recoveries;
DROP TABLE grant_expenses;
DROP TABLE grant_documents;
DROP TABLE grant_tranches;
DROP TABLE grant_parts;
DROP TABLE grants;
DROP INDEX journal_entries_campaign;
ALTER TABLE postings DISABLE TRIGGER postings_append_only;
DELETE FROM postings WHERE account = 'recoverable';
ALTER TABLE postings ENABLE TRIGGER postings_append_only;
ALTER TABLE postings DROP CONSTRAINT IF EXISTS postings_account_check;
ALTER TABLE postings ADD CONSTRAINT postings_account_check
    CHECK (account IN ('budget_source', 'available', 'held', 'reserved', 'committed', 'settled'));
ALTER TABLE funders DROP COLUMN recoverable;
ALTER TABLE funds DROP COLUMN recoverable;
ALTER TABLE funds DROP COLUMN reporting_days;
ALTER TABLE funds DROP COLUMN advance_ratio;
ALTER TABLE funds DROP COLUMN payment_plan;
