-- Crowd payouts (issue 39): the donors' money reaches the association after the decision.
-- See docs/adr/0017-crowd-payouts.md.

-- The association's connected account at the payment provider.
CREATE TABLE payout_accounts (
    association_id  TEXT PRIMARY KEY REFERENCES associations(id),
    provider        TEXT NOT NULL,
    account_id      TEXT NOT NULL UNIQUE,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'active', 'restricted')),
    -- The provider's time of the last account event applied: an older one never overwrites it.
    status_at       BIGINT NOT NULL DEFAULT 0,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL
);

-- A campaign's crowd money, one row per succeeded campaign: the balances of its crowd
-- accounts (the sums of its crowd journal) and the row every crowd movement locks.
CREATE TABLE crowd_positions (
    campaign_id     TEXT PRIMARY KEY REFERENCES campaigns(id),
    association_id  TEXT NOT NULL REFERENCES associations(id),
    currency        TEXT NOT NULL,
    collected       BIGINT NOT NULL DEFAULT 0 CHECK (collected >= 0),
    refunded        BIGINT NOT NULL DEFAULT 0 CHECK (refunded >= 0),
    clearing        BIGINT NOT NULL DEFAULT 0,
    fees            BIGINT NOT NULL DEFAULT 0 CHECK (fees >= 0),
    payable         BIGINT NOT NULL DEFAULT 0 CHECK (payable >= 0),
    paid_out        BIGINT NOT NULL DEFAULT 0 CHECK (paid_out >= 0),
    reversing       BIGINT NOT NULL DEFAULT 0 CHECK (reversing >= 0),
    owed            BIGINT NOT NULL DEFAULT 0 CHECK (owed >= 0),
    -- COFUND_PLATFORM_FEE_RATIO when the campaign was decided (none: no fee).
    fee_ratio       TEXT,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL
);
CREATE INDEX crowd_positions_association ON crowd_positions (association_id);

-- Money paid (or being paid) to the association: a provider transfer or a bank batch line.
CREATE TABLE payouts (
    id                  TEXT PRIMARY KEY,
    campaign_id         TEXT NOT NULL REFERENCES campaigns(id),
    association_id      TEXT NOT NULL REFERENCES associations(id),
    seq                 INTEGER NOT NULL CHECK (seq >= 1),
    amount              BIGINT NOT NULL CHECK (amount > 0),
    fee                 BIGINT NOT NULL CHECK (fee >= 0),
    currency            TEXT NOT NULL,
    method              TEXT NOT NULL CHECK (method IN ('provider_transfer', 'bank_batch')),
    status              TEXT NOT NULL CHECK (status IN ('pending', 'paid', 'failed')),
    destination         TEXT NOT NULL,
    provider_reference  TEXT,
    batch_id            TEXT,
    attempts            INTEGER NOT NULL DEFAULT 0,
    reversed            BIGINT NOT NULL DEFAULT 0 CHECK (reversed >= 0 AND reversed <= amount),
    failure             TEXT,
    created_at          TIMESTAMP NOT NULL,
    updated_at          TIMESTAMP NOT NULL,
    paid_at             TIMESTAMP,
    UNIQUE (campaign_id, seq)
);
CREATE INDEX payouts_association ON payouts (association_id);
CREATE INDEX payouts_status ON payouts (status);
CREATE INDEX payouts_batch ON payouts (batch_id);

-- Paid-out money taken back from the association (a refund or lost dispute after a payout).
CREATE TABLE payout_reversals (
    id                  TEXT PRIMARY KEY,
    campaign_id         TEXT NOT NULL REFERENCES campaigns(id),
    payout_id           TEXT REFERENCES payouts(id),
    amount              BIGINT NOT NULL CHECK (amount > 0),
    status              TEXT NOT NULL CHECK (status IN ('pending', 'reversed', 'owed', 'cancelled')),
    provider_reference  TEXT,
    failure             TEXT,
    created_at          TIMESTAMP NOT NULL,
    updated_at          TIMESTAMP NOT NULL
);
CREATE INDEX payout_reversals_campaign ON payout_reversals (campaign_id);
CREATE INDEX payout_reversals_status ON payout_reversals (status);

-- A pain.001 file paying associations from the collection account.
CREATE TABLE payout_batches (
    id              TEXT PRIMARY KEY,
    status          TEXT NOT NULL CHECK (status IN ('draft', 'confirmed', 'cancelled')),
    currency        TEXT NOT NULL,
    total           BIGINT NOT NULL CHECK (total > 0),
    item_count      INTEGER NOT NULL CHECK (item_count > 0),
    message_id      TEXT NOT NULL,
    bank_reference  TEXT,
    paid_at         TIMESTAMP,
    created_by      TEXT NOT NULL,
    confirmed_by    TEXT,
    created_at      TIMESTAMP NOT NULL,
    confirmed_at    TIMESTAMP,
    cancelled_at    TIMESTAMP
);

-- The crowd journal: each entry moves an amount from one crowd account to another
-- ('donors' is the world outside: the donors' cards and banks).
CREATE TABLE crowd_entries (
    id              TEXT PRIMARY KEY,
    campaign_id     TEXT NOT NULL REFERENCES campaigns(id),
    movement        TEXT NOT NULL,
    debit           TEXT NOT NULL,
    credit          TEXT NOT NULL CHECK (credit <> debit),
    amount          BIGINT NOT NULL CHECK (amount > 0),
    payout_id       TEXT,
    reversal_id     TEXT,
    created_at      TIMESTAMP NOT NULL
);
CREATE INDEX crowd_entries_campaign ON crowd_entries (campaign_id);
CREATE TRIGGER crowd_entries_append_only BEFORE UPDATE OR DELETE ON crowd_entries
    FOR EACH ROW EXECUTE FUNCTION cofund_append_only();
