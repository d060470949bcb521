-- Public-finance duties of an Italian city (issue 22): the transparency register (awards), the
-- treasury's fields on funds, and donor receipts numbered without gaps per association and year.

ALTER TABLE funds ADD COLUMN legal_basis TEXT;
ALTER TABLE funds ADD COLUMN office TEXT;
ALTER TABLE funds ADD COLUMN responsible_official TEXT;
ALTER TABLE funds ADD COLUMN selection_method TEXT;
ALTER TABLE funds ADD COLUMN siope_code TEXT;
ALTER TABLE associations ADD COLUMN runts_id TEXT;
ALTER TABLE donors ADD COLUMN tax_code TEXT;

-- One award per public funder's part of a committed match (D.Lgs. 33/2013 art. 26-27). What
-- the register shows is copied when the award is published, so a later edit of the fund or the
-- association does not rewrite a published act.
CREATE TABLE awards (
    id                    TEXT PRIMARY KEY,
    fund_id               TEXT NOT NULL REFERENCES funds(id),
    funder_id             TEXT NOT NULL REFERENCES funders(id),
    campaign_id           TEXT NOT NULL REFERENCES campaigns(id),
    association_id        TEXT NOT NULL REFERENCES associations(id),
    amount                BIGINT NOT NULL CHECK (amount > 0),
    currency              TEXT NOT NULL,
    year                  INTEGER NOT NULL,
    awarded_at            TIMESTAMP NOT NULL,
    published_at          TIMESTAMP,
    beneficiary_name      TEXT NOT NULL,
    beneficiary_tax_code  TEXT NOT NULL,
    legal_basis           TEXT,
    office                TEXT,
    responsible_official  TEXT,
    selection_method      TEXT,
    UNIQUE (campaign_id, funder_id)
);
CREATE INDEX awards_register ON awards (year, id);
CREATE INDEX awards_fund ON awards (fund_id, id);

-- The last receipt number given per association and year: taken and raised in the
-- confirmation's transaction, so a number is used once and a rolled-back confirmation gives
-- its number back.
CREATE TABLE receipt_counters (
    association_id  TEXT NOT NULL REFERENCES associations(id),
    year            INTEGER NOT NULL,
    last_number     INTEGER NOT NULL CHECK (last_number > 0),
    PRIMARY KEY (association_id, year)
);

-- A donation's receipt (D.Lgs. 117/2017 art. 83). The donor's name and tax code are read from
-- the donor row, so erasing the donor erases them here too; the number and amount stay.
CREATE TABLE receipts (
    pledge_id       TEXT PRIMARY KEY REFERENCES pledges(id),
    association_id  TEXT NOT NULL REFERENCES associations(id),
    campaign_id     TEXT NOT NULL REFERENCES campaigns(id),
    year            INTEGER NOT NULL,
    number          INTEGER NOT NULL CHECK (number > 0),
    amount          BIGINT NOT NULL CHECK (amount > 0),
    currency        TEXT NOT NULL,
    issued_at       TIMESTAMP NOT NULL,
    voided_at       TIMESTAMP,
    UNIQUE (association_id, year, number)
);
CREATE INDEX receipts_by_year ON receipts (association_id, year, number);

-- Donations confirmed before this migration get their receipts, numbered in payment order.
INSERT INTO receipts (pledge_id, association_id, campaign_id, year, number, amount, currency, issued_at, voided_at)
SELECT p.id, c.association_id, p.campaign_id,
       EXTRACT(YEAR FROM COALESCE(p.confirmed_at, p.created_at))::INTEGER,
       ROW_NUMBER() OVER (
           PARTITION BY c.association_id, EXTRACT(YEAR FROM COALESCE(p.confirmed_at, p.created_at))
           ORDER BY COALESCE(p.confirmed_at, p.created_at), p.id)::INTEGER,
       p.amount, p.currency, COALESCE(p.confirmed_at, p.created_at),
       CASE WHEN p.status IN ('refunded', 'charged_back') THEN p.updated_at END
FROM pledges p JOIN campaigns c ON c.id = p.campaign_id
WHERE p.paid;
INSERT INTO receipt_counters (association_id, year, last_number)
SELECT association_id, year, MAX(number) FROM receipts GROUP BY association_id, year;

-- Matches public funders committed before this migration become awards, unpublished until
-- the fund's transparency fields are filled in (then they are published and payable).
INSERT INTO awards (id, fund_id, funder_id, campaign_id, association_id, amount, currency, year,
                    awarded_at, published_at, beneficiary_name, beneficiary_tax_code)
SELECT 'awd_' || mp.campaign_id || '_' || mp.funder_id, mp.fund_id, mp.funder_id, c.id,
       a.id, mp.amount, c.currency, EXTRACT(YEAR FROM COALESCE(c.decided_at, c.updated_at))::INTEGER, COALESCE(c.decided_at, c.updated_at), NULL, a.name, a.tax_code
FROM match_parts mp
JOIN campaigns c ON c.id = mp.campaign_id
JOIN associations a ON a.id = c.association_id
JOIN funders f ON f.id = mp.funder_id
WHERE f.kind = 'public' AND mp.amount > 0 AND c.match_status IN ('committed', 'settled');
