-- Pledges, provider events, the matching engine's records and the double-entry ledger.

ALTER TABLE campaigns ADD COLUMN waitlisted_at TIMESTAMP;
ALTER TABLE campaigns ADD COLUMN decided_at TIMESTAMP;
CREATE INDEX campaigns_waitlist ON campaigns (fund_id, match_status, waitlisted_at);

CREATE TABLE pledges (
    id                        TEXT PRIMARY KEY,
    campaign_id               TEXT NOT NULL REFERENCES campaigns(id),
    partner_id                TEXT NOT NULL REFERENCES partners(id),
    amount                    BIGINT NOT NULL CHECK (amount > 0),
    currency                  TEXT NOT NULL,
    status                    TEXT NOT NULL CHECK (status IN ('pending', 'confirmed', 'failed', 'expired', 'refunded', 'partially_refunded', 'disputed', 'charged_back')),
    -- Facts learnt from the provider; they only ever move forward.
    paid                      BOOLEAN NOT NULL DEFAULT FALSE,
    failed                    BOOLEAN NOT NULL DEFAULT FALSE,
    canceled                  BOOLEAN NOT NULL DEFAULT FALSE,
    expired                   BOOLEAN NOT NULL DEFAULT FALSE,
    refunded_amount           BIGINT NOT NULL DEFAULT 0 CHECK (refunded_amount >= 0),
    dispute                   TEXT NOT NULL DEFAULT 'none' CHECK (dispute IN ('none', 'open', 'won', 'lost')),
    -- What this pledge currently adds to its campaign's `raised`.
    counted_amount            BIGINT NOT NULL DEFAULT 0 CHECK (counted_amount >= 0 AND counted_amount <= amount),
    donor_key                 TEXT NOT NULL,
    message                   TEXT,
    provider                  TEXT NOT NULL,
    provider_payment_id       TEXT UNIQUE,
    client_secret             TEXT,
    provider_idempotency_key  TEXT NOT NULL,
    idempotency_key           TEXT NOT NULL,
    request_hash              TEXT NOT NULL,
    creation_response         TEXT,
    flagged_reason            TEXT,
    created_at                TIMESTAMP NOT NULL,
    updated_at                TIMESTAMP NOT NULL,
    confirmed_at              TIMESTAMP,
    UNIQUE (partner_id, idempotency_key)
);
CREATE INDEX pledges_campaign ON pledges (campaign_id, id);
CREATE INDEX pledges_status_created ON pledges (status, created_at);
CREATE INDEX pledges_partner ON pledges (partner_id, id);

-- Donor personal data, apart from the amounts (erasable without touching the accounts).
CREATE TABLE donors (
    pledge_id        TEXT PRIMARY KEY REFERENCES pledges(id),
    name             TEXT,
    email            TEXT,
    anonymous        BOOLEAN NOT NULL,
    contact_consent  BOOLEAN NOT NULL,
    locale           TEXT NOT NULL,
    erased_at        TIMESTAMP
);
CREATE INDEX donors_email ON donors (email);

-- Distinct donors per campaign: a donor counts while they have a counted pledge.
CREATE TABLE campaign_donors (
    campaign_id  TEXT NOT NULL REFERENCES campaigns(id),
    donor_key    TEXT NOT NULL,
    pledges      INTEGER NOT NULL CHECK (pledges >= 0),
    PRIMARY KEY (campaign_id, donor_key)
);

-- Every provider event id, stored in the transaction that applies it: applied at most once.
CREATE TABLE provider_events (
    id           TEXT PRIMARY KEY,
    type         TEXT NOT NULL,
    payment_id   TEXT,
    pledge_id    TEXT,
    outcome      TEXT NOT NULL,
    payload      TEXT NOT NULL,
    received_at  TIMESTAMP NOT NULL
);
CREATE INDEX provider_events_payment ON provider_events (payment_id);

-- Refunds the service asks of the provider (failed or cancelled campaigns).
CREATE TABLE refunds (
    id                  TEXT PRIMARY KEY,
    pledge_id           TEXT NOT NULL UNIQUE REFERENCES pledges(id),
    amount              BIGINT NOT NULL CHECK (amount > 0),
    reason              TEXT NOT NULL,
    status              TEXT NOT NULL CHECK (status IN ('pending', 'done')),
    attempts            INTEGER NOT NULL DEFAULT 0,
    idempotency_key     TEXT NOT NULL,
    provider_refund_id  TEXT,
    last_error          TEXT,
    next_attempt_at     TIMESTAMP NOT NULL,
    created_at          TIMESTAMP NOT NULL,
    updated_at          TIMESTAMP NOT NULL
);
CREATE INDEX refunds_due ON refunds (status, next_attempt_at);

-- Every matching decision with the inputs it was taken from.
CREATE TABLE match_decisions (
    id           TEXT PRIMARY KEY,
    campaign_id  TEXT NOT NULL REFERENCES campaigns(id),
    fund_id      TEXT NOT NULL REFERENCES funds(id),
    decision     TEXT NOT NULL,
    amount       BIGINT NOT NULL,
    inputs       TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL
);
CREATE INDEX match_decisions_campaign ON match_decisions (campaign_id, id);

-- The double-entry journal: append-only, each entry's postings sum to zero.
CREATE TABLE journal_entries (
    id           TEXT PRIMARY KEY,
    fund_id      TEXT NOT NULL REFERENCES funds(id),
    campaign_id  TEXT,
    kind         TEXT NOT NULL,
    memo         TEXT NOT NULL,
    reverses     TEXT REFERENCES journal_entries(id),
    created_at   TIMESTAMP NOT NULL
);
CREATE INDEX journal_entries_fund ON journal_entries (fund_id, id);

CREATE TABLE postings (
    id        TEXT PRIMARY KEY,
    entry_id  TEXT NOT NULL REFERENCES journal_entries(id),
    fund_id   TEXT NOT NULL REFERENCES funds(id),
    account   TEXT NOT NULL CHECK (account IN ('budget_source', 'available', 'reserved', 'committed', 'settled')),
    amount    BIGINT NOT NULL CHECK (amount <> 0),
    currency  TEXT NOT NULL
);
CREATE INDEX postings_fund_account ON postings (fund_id, account);
CREATE INDEX postings_entry ON postings (entry_id);

CREATE FUNCTION cofund_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'table % is append-only', TG_TABLE_NAME;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER journal_entries_append_only BEFORE UPDATE OR DELETE ON journal_entries
    FOR EACH ROW EXECUTE FUNCTION cofund_append_only();
CREATE TRIGGER postings_append_only BEFORE UPDATE OR DELETE ON postings
    FOR EACH ROW EXECUTE FUNCTION cofund_append_only();
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION cofund_append_only();
