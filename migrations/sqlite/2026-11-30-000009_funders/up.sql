-- Co-funders and matching policies (issue 21). A fund is paid by one or more funders, each with
-- its own budget, figures and ledger accounts; the fund's figures are the sums over its funders.

CREATE TABLE funders (
    id          TEXT PRIMARY KEY,
    fund_id     TEXT NOT NULL REFERENCES funds(id),
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('public', 'private')),
    tax_code    TEXT,
    iban        TEXT,
    bic         TEXT,
    priority    INTEGER NOT NULL,
    share       TEXT,
    budget      BIGINT NOT NULL DEFAULT 0 CHECK (budget >= 0),
    held        BIGINT NOT NULL DEFAULT 0 CHECK (held >= 0),
    reserved    BIGINT NOT NULL DEFAULT 0 CHECK (reserved >= 0),
    committed   BIGINT NOT NULL DEFAULT 0 CHECK (committed >= 0),
    settled     BIGINT NOT NULL DEFAULT 0 CHECK (settled >= 0),
    created_at  TIMESTAMP NOT NULL,
    -- Backstop: no funder is ever promised beyond its own budget.
    CHECK (held + reserved + committed + settled <= budget)
);
CREATE INDEX funders_fund ON funders (fund_id, priority, id);

-- Every existing fund keeps one public funder, the city, with the fund's figures.
INSERT INTO funders (id, fund_id, name, kind, priority, budget, reserved, committed, settled, created_at)
SELECT 'fdr_' || substr(id, 6), id, 'City', 'public', 1, budget, reserved, committed, settled, created_at
FROM funds;

-- (SQLite cannot change the funds table's CHECK; the funders' CHECK is the backstop here.)
ALTER TABLE funds ADD COLUMN held BIGINT NOT NULL DEFAULT 0 CHECK (held >= 0);
ALTER TABLE funds ADD COLUMN funding_split TEXT NOT NULL DEFAULT 'priority'
    CHECK (funding_split IN ('priority', 'proportional'));
ALTER TABLE funds ADD COLUMN match_policy TEXT NOT NULL DEFAULT 'threshold_top_up'
    CHECK (match_policy IN ('threshold_top_up', 'per_donation', 'quadratic'));
ALTER TABLE funds ADD COLUMN max_match_per_donation BIGINT CHECK (max_match_per_donation > 0);
ALTER TABLE funds ADD COLUMN match_hold_secs INTEGER NOT NULL DEFAULT 1800 CHECK (match_hold_secs > 0);
ALTER TABLE funds ADD COLUMN min_contribution BIGINT NOT NULL DEFAULT 0 CHECK (min_contribution >= 0);
ALTER TABLE funds ADD COLUMN distributed_at TIMESTAMP;

-- Each entry moves one funder's money; the existing entries were the city's.
DROP TRIGGER journal_entries_no_update;
ALTER TABLE journal_entries ADD COLUMN funder_id TEXT NOT NULL DEFAULT '' REFERENCES funders(id);
UPDATE journal_entries SET funder_id = 'fdr_' || substr(fund_id, 6);
CREATE TRIGGER journal_entries_no_update BEFORE UPDATE ON journal_entries
BEGIN SELECT RAISE(ABORT, 'journal_entries is append-only'); END;

CREATE TABLE postings_by_funder (
    id         TEXT PRIMARY KEY,
    entry_id   TEXT NOT NULL REFERENCES journal_entries(id),
    fund_id    TEXT NOT NULL REFERENCES funds(id),
    funder_id  TEXT NOT NULL REFERENCES funders(id),
    account    TEXT NOT NULL CHECK (account IN ('budget_source', 'available', 'held', 'reserved', 'committed', 'settled')),
    amount     BIGINT NOT NULL CHECK (amount <> 0),
    currency   TEXT NOT NULL
);
INSERT INTO postings_by_funder (id, entry_id, fund_id, funder_id, account, amount, currency)
SELECT id, entry_id, fund_id, 'fdr_' || substr(fund_id, 6), account, amount, currency FROM postings;
DROP TABLE postings;
ALTER TABLE postings_by_funder RENAME TO postings;
CREATE INDEX postings_fund_account ON postings (fund_id, account);
CREATE INDEX postings_funder_account ON postings (funder_id, account);
CREATE INDEX postings_entry ON postings (entry_id);
CREATE TRIGGER postings_no_update BEFORE UPDATE ON postings
BEGIN SELECT RAISE(ABORT, 'postings is append-only'); END;
CREATE TRIGGER postings_no_delete BEFORE DELETE ON postings
BEGIN SELECT RAISE(ABORT, 'postings is append-only'); END;

-- Each funder's part of a campaign's match (reserved, committed or settled as the campaign's
-- match is), and the batch that pays it.
CREATE TABLE match_parts (
    campaign_id    TEXT NOT NULL REFERENCES campaigns(id),
    funder_id      TEXT NOT NULL REFERENCES funders(id),
    fund_id        TEXT NOT NULL REFERENCES funds(id),
    amount         BIGINT NOT NULL CHECK (amount >= 0),
    settlement_id  TEXT REFERENCES settlements(id),
    settled        BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (campaign_id, funder_id)
);
CREATE INDEX match_parts_funder ON match_parts (funder_id, campaign_id);
INSERT INTO match_parts (campaign_id, funder_id, fund_id, amount, settlement_id, settled)
SELECT id, 'fdr_' || substr(fund_id, 6), fund_id, match_amount, settlement_id, match_status = 'settled'
FROM campaigns
WHERE match_status IN ('reserved', 'committed', 'settled') AND match_amount > 0;

ALTER TABLE settlements ADD COLUMN funder_id TEXT NOT NULL DEFAULT '' REFERENCES funders(id);
UPDATE settlements SET funder_id = 'fdr_' || substr(fund_id, 6);

-- per_donation: the match held for a pledge while the donor pays, one row per funder.
CREATE TABLE match_holds (
    pledge_id    TEXT NOT NULL REFERENCES pledges(id),
    funder_id    TEXT NOT NULL REFERENCES funders(id),
    campaign_id  TEXT NOT NULL REFERENCES campaigns(id),
    fund_id      TEXT NOT NULL REFERENCES funds(id),
    amount       BIGINT NOT NULL CHECK (amount > 0),
    status       TEXT NOT NULL CHECK (status IN ('held', 'reserved', 'released')),
    expires_at   TIMESTAMP NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    PRIMARY KEY (pledge_id, funder_id)
);
CREATE INDEX match_holds_due ON match_holds (status, expires_at);
CREATE INDEX match_holds_campaign ON match_holds (campaign_id, status);
