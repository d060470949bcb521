-- Back to one batch line per campaign and no grants (for development databases: money moved
-- against grants cannot be described without them).
DROP INDEX settlement_lines_tranche;
CREATE TABLE settlement_lines_by_campaign (
    settlement_id  TEXT NOT NULL REFERENCES settlements(id),
    item_id        TEXT NOT NULL REFERENCES settlement_items(id),
    campaign_id    TEXT NOT NULL REFERENCES campaigns(id),
    amount         BIGINT NOT NULL CHECK (amount > 0),
    PRIMARY KEY (settlement_id, campaign_id)
);
INSERT INTO settlement_lines_by_campaign (settlement_id, item_id, campaign_id, amount)
SELECT settlement_id, MIN(item_id), campaign_id, SUM(amount) FROM settlement_lines
 GROUP BY settlement_id, campaign_id;
DROP TABLE settlement_lines;
ALTER TABLE settlement_lines_by_campaign RENAME TO settlement_lines;
DROP TABLE grant_expense_documents;
DROP TABLE grant_recoveries;
DROP TABLE grant_expenses;
DROP TABLE grant_documents;
DROP TABLE grant_tranches;
DROP TABLE grant_parts;
DROP TABLE grants;
DROP INDEX journal_entries_campaign;
DROP TRIGGER postings_no_update;
DROP TRIGGER postings_no_delete;
CREATE TABLE postings_without_recoverable (
    id         TEXT PRIMARY KEY,
    entry_id   TEXT NOT NULL REFERENCES journal_entries(id),
    fund_id    TEXT NOT NULL REFERENCES funds(id),
    funder_id  TEXT NOT NULL REFERENCES funders(id),
    account    TEXT NOT NULL CHECK (account IN ('budget_source', 'available', 'held', 'reserved', 'committed', 'settled')),
    amount     BIGINT NOT NULL CHECK (amount <> 0),
    currency   TEXT NOT NULL
);
INSERT INTO postings_without_recoverable (id, entry_id, fund_id, funder_id, account, amount, currency)
SELECT id, entry_id, fund_id, funder_id, account, amount, currency FROM postings
 WHERE account <> 'recoverable';
DROP TABLE postings;
ALTER TABLE postings_without_recoverable RENAME TO postings;
CREATE INDEX postings_fund_account ON postings (fund_id, account);
CREATE INDEX postings_funder_account ON postings (funder_id, account);
CREATE INDEX postings_entry ON postings (entry_id);
CREATE TRIGGER postings_no_update BEFORE UPDATE ON postings
BEGIN SELECT RAISE(ABORT, 'postings is append-only'); END;
CREATE TRIGGER postings_no_delete BEFORE DELETE ON postings
BEGIN SELECT RAISE(ABORT, 'postings is append-only'); END;
ALTER TABLE funders DROP COLUMN recoverable;
ALTER TABLE funds DROP COLUMN recoverable;
ALTER TABLE funds DROP COLUMN reporting_days;
ALTER TABLE funds DROP COLUMN advance_ratio;
ALTER TABLE funds DROP COLUMN payment_plan;
