-- Settlement batches: the finance office pays committed match funds by SEPA transfer.

CREATE TABLE settlements (
    id              TEXT PRIMARY KEY,
    fund_id         TEXT NOT NULL REFERENCES funds(id),
    status          TEXT NOT NULL CHECK (status IN ('draft', 'confirmed', 'cancelled')),
    currency        TEXT NOT NULL,
    total           BIGINT NOT NULL CHECK (total > 0),
    item_count      INTEGER NOT NULL CHECK (item_count > 0),
    message_id      TEXT NOT NULL UNIQUE,
    bank_reference  TEXT,
    paid_at         TIMESTAMP,
    created_by      TEXT,
    created_at      TIMESTAMP NOT NULL,
    confirmed_at    TIMESTAMP,
    cancelled_at    TIMESTAMP
);
CREATE INDEX settlements_fund ON settlements (fund_id, id);

CREATE TABLE settlement_items (
    id              TEXT PRIMARY KEY,
    settlement_id   TEXT NOT NULL REFERENCES settlements(id),
    association_id  TEXT NOT NULL REFERENCES associations(id),
    creditor_name   TEXT NOT NULL,
    iban            TEXT NOT NULL,
    bic             TEXT,
    amount          BIGINT NOT NULL CHECK (amount > 0),
    end_to_end_id   TEXT NOT NULL UNIQUE,
    remittance      TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('draft', 'settled', 'cancelled'))
);
CREATE INDEX settlement_items_settlement ON settlement_items (settlement_id, id);

CREATE TABLE settlement_lines (
    settlement_id  TEXT NOT NULL REFERENCES settlements(id),
    item_id        TEXT NOT NULL REFERENCES settlement_items(id),
    campaign_id    TEXT NOT NULL REFERENCES campaigns(id),
    amount         BIGINT NOT NULL CHECK (amount > 0),
    PRIMARY KEY (settlement_id, campaign_id)
);

-- The draft batch currently holding a committed match (at most one open batch).
ALTER TABLE campaigns ADD COLUMN settlement_id TEXT REFERENCES settlements(id);
