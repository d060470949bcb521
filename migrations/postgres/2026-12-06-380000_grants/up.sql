-- Grants (issue 38): a committed match is paid against an agreement and reported spending.
-- See docs/adr/0015-grant-documents-in-the-database.md and docs/adr/0016-grants-paid-by-plan.md.

ALTER TABLE funds ADD COLUMN payment_plan TEXT NOT NULL DEFAULT 'on_commitment'
    CHECK (payment_plan IN ('on_commitment', 'tranches'));
ALTER TABLE funds ADD COLUMN advance_ratio TEXT;
ALTER TABLE funds ADD COLUMN reporting_days INTEGER NOT NULL DEFAULT 365
    CHECK (reporting_days BETWEEN 1 AND 3650);
-- Paid money the association owes back (a reduction or revocation after payment).
ALTER TABLE funds ADD COLUMN recoverable BIGINT NOT NULL DEFAULT 0 CHECK (recoverable >= 0);
ALTER TABLE funders ADD COLUMN recoverable BIGINT NOT NULL DEFAULT 0 CHECK (recoverable >= 0);

-- The journal gains the account of paid money owed back.
ALTER TABLE postings DROP CONSTRAINT IF EXISTS postings_account_check;
ALTER TABLE postings ADD CONSTRAINT postings_account_check
    CHECK (account IN ('budget_source', 'available', 'held', 'reserved', 'committed', 'settled', 'recoverable'));
CREATE INDEX journal_entries_campaign ON journal_entries (campaign_id);

CREATE TABLE grants (
    id                  TEXT PRIMARY KEY,
    campaign_id         TEXT NOT NULL UNIQUE REFERENCES campaigns(id),
    fund_id             TEXT NOT NULL REFERENCES funds(id),
    association_id      TEXT NOT NULL REFERENCES associations(id),
    currency            TEXT NOT NULL,
    payment_plan        TEXT NOT NULL CHECK (payment_plan IN ('on_commitment', 'tranches')),
    advance_ratio       TEXT,
    goal                BIGINT NOT NULL CHECK (goal > 0),
    awarded             BIGINT NOT NULL CHECK (awarded >= 0),
    award_limit         BIGINT NOT NULL CHECK (award_limit >= 0 AND award_limit <= awarded),
    due                 BIGINT CHECK (due >= 0),
    accepted_expenses   BIGINT NOT NULL DEFAULT 0 CHECK (accepted_expenses >= 0),
    paid                BIGINT NOT NULL DEFAULT 0 CHECK (paid >= 0),
    released            BIGINT NOT NULL DEFAULT 0 CHECK (released >= 0),
    recoverable         BIGINT NOT NULL DEFAULT 0 CHECK (recoverable >= 0),
    recovered           BIGINT NOT NULL DEFAULT 0 CHECK (recovered >= 0),
    status              TEXT NOT NULL CHECK (status IN ('open', 'reported', 'approved', 'closed', 'overdue', 'under_review', 'revoked')),
    review_from         TEXT,
    -- The campaign's confirmed money when finance last decided a review: only money leaving
    -- beyond it opens a new review.
    reviewed_raised     BIGINT,
    award_status        TEXT NOT NULL DEFAULT 'awarded' CHECK (award_status IN ('awarded', 'reduced', 'revoked')),
    report_due_at       TIMESTAMP NOT NULL,
    summary             TEXT,
    reported_at         TIMESTAMP,
    approved_at         TIMESTAMP,
    decision_reason     TEXT,
    reminded_at         TIMESTAMP,
    created_at          TIMESTAMP NOT NULL,
    updated_at          TIMESTAMP NOT NULL
);
CREATE INDEX grants_fund ON grants (fund_id, id);
CREATE INDEX grants_association ON grants (association_id, id);
CREATE INDEX grants_status_due ON grants (status, report_due_at);

-- Each funder's part of a grant.
CREATE TABLE grant_parts (
    grant_id     TEXT NOT NULL REFERENCES grants(id),
    funder_id    TEXT NOT NULL REFERENCES funders(id),
    fund_id      TEXT NOT NULL REFERENCES funds(id),
    awarded      BIGINT NOT NULL CHECK (awarded >= 0),
    advance      BIGINT NOT NULL DEFAULT 0 CHECK (advance >= 0),
    paid         BIGINT NOT NULL DEFAULT 0 CHECK (paid >= 0),
    released     BIGINT NOT NULL DEFAULT 0 CHECK (released >= 0),
    recoverable  BIGINT NOT NULL DEFAULT 0 CHECK (recoverable >= 0),
    recovered    BIGINT NOT NULL DEFAULT 0 CHECK (recovered >= 0),
    PRIMARY KEY (grant_id, funder_id),
    CHECK (paid + released <= awarded)
);

-- What a funder pays of a grant, in one transfer: `payable` (in a batch when settlement_id is
-- set), `paid`, or `cancelled` (replaced by a later plan).
CREATE TABLE grant_tranches (
    id             TEXT PRIMARY KEY,
    grant_id       TEXT NOT NULL REFERENCES grants(id),
    campaign_id    TEXT NOT NULL REFERENCES campaigns(id),
    fund_id        TEXT NOT NULL REFERENCES funds(id),
    funder_id      TEXT NOT NULL REFERENCES funders(id),
    kind           TEXT NOT NULL CHECK (kind IN ('advance', 'balance', 'full')),
    amount         BIGINT NOT NULL CHECK (amount > 0),
    status         TEXT NOT NULL CHECK (status IN ('payable', 'paid', 'cancelled')),
    settlement_id  TEXT REFERENCES settlements(id),
    created_at     TIMESTAMP NOT NULL,
    paid_at        TIMESTAMP
);
CREATE INDEX grant_tranches_grant ON grant_tranches (grant_id, funder_id);
CREATE INDEX grant_tranches_payable ON grant_tranches (fund_id, funder_id, status);
CREATE INDEX grant_tranches_settlement ON grant_tranches (settlement_id);

-- Receipts, invoices and other evidence, kept in the database so that every replica serves them.
CREATE TABLE grant_documents (
    id              TEXT PRIMARY KEY,
    grant_id        TEXT NOT NULL REFERENCES grants(id),
    association_id  TEXT NOT NULL REFERENCES associations(id),
    filename        TEXT NOT NULL,
    media_type      TEXT NOT NULL CHECK (media_type IN ('application/pdf', 'image/jpeg', 'image/png')),
    size            BIGINT NOT NULL CHECK (size > 0 AND size <= 10485760),
    sha256          TEXT NOT NULL,
    content         BYTEA NOT NULL,
    uploaded_by     TEXT NOT NULL,
    created_at      TIMESTAMP NOT NULL
);
CREATE INDEX grant_documents_grant ON grant_documents (grant_id, id);

CREATE TABLE grant_expenses (
    id                 TEXT PRIMARY KEY,
    grant_id           TEXT NOT NULL REFERENCES grants(id),
    category           TEXT NOT NULL,
    supplier           TEXT NOT NULL,
    supplier_tax_code  TEXT,
    document_number    TEXT NOT NULL,
    document_date      DATE NOT NULL,
    amount             BIGINT NOT NULL CHECK (amount > 0),
    paid_at            DATE NOT NULL,
    payment_method     TEXT NOT NULL,
    status             TEXT NOT NULL CHECK (status IN ('submitted', 'accepted', 'rejected')),
    reason             TEXT,
    checked_by         TEXT,
    checked_at         TIMESTAMP,
    created_by         TEXT NOT NULL,
    created_at         TIMESTAMP NOT NULL
);
CREATE INDEX grant_expenses_grant ON grant_expenses (grant_id, id);

-- Money an association paid back; one bank reference is recorded once per grant.
CREATE TABLE grant_recoveries (
    id              TEXT PRIMARY KEY,
    grant_id        TEXT NOT NULL REFERENCES grants(id),
    amount          BIGINT NOT NULL CHECK (amount > 0),
    received_at     TIMESTAMP NOT NULL,
    bank_reference  TEXT NOT NULL,
    recorded_by     TEXT NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    UNIQUE (grant_id, bank_reference)
);

CREATE TABLE grant_expense_documents (
    expense_id   TEXT NOT NULL REFERENCES grant_expenses(id),
    document_id  TEXT NOT NULL REFERENCES grant_documents(id),
    PRIMARY KEY (expense_id, document_id)
);

-- Matches already committed or settled get their grant: paid on commitment, as they were.
INSERT INTO grants (id, campaign_id, fund_id, association_id, currency, payment_plan, goal,
                    awarded, award_limit, paid, status, report_due_at, created_at, updated_at)
SELECT 'grt_' || substr(c.id, 5), c.id, c.fund_id, c.association_id, c.currency, 'on_commitment',
       c.goal, c.match_amount, c.match_amount,
       (SELECT COALESCE(SUM(p.amount), 0) FROM match_parts p WHERE p.campaign_id = c.id AND p.settled),
       'open', COALESCE(c.decided_at, c.updated_at) + INTERVAL '365 days',
       COALESCE(c.decided_at, c.updated_at), COALESCE(c.decided_at, c.updated_at)
  FROM campaigns c
 WHERE c.match_status IN ('committed', 'settled') AND c.match_amount > 0;
INSERT INTO grant_parts (grant_id, funder_id, fund_id, awarded, paid)
SELECT 'grt_' || substr(p.campaign_id, 5), p.funder_id, p.fund_id, p.amount,
       CASE WHEN p.settled THEN p.amount ELSE 0 END
  FROM match_parts p JOIN grants g ON g.campaign_id = p.campaign_id
 WHERE p.amount > 0;
INSERT INTO grant_tranches (id, grant_id, campaign_id, fund_id, funder_id, kind, amount, status,
                            settlement_id, created_at, paid_at)
SELECT 'trn_' || md5(random()::text || p.campaign_id || p.funder_id), g.id, p.campaign_id, p.fund_id, p.funder_id, 'full',
       p.amount, CASE WHEN p.settled THEN 'paid' ELSE 'payable' END,
       CASE WHEN p.settled OR s.status = 'draft' THEN p.settlement_id END,
       g.created_at, CASE WHEN p.settled THEN s.paid_at END
  FROM match_parts p
  JOIN grants g ON g.campaign_id = p.campaign_id
  LEFT JOIN settlements s ON s.id = p.settlement_id
 WHERE p.amount > 0;
ALTER TABLE settlement_lines ADD COLUMN tranche_id TEXT REFERENCES grant_tranches(id);
ALTER TABLE settlement_lines ADD COLUMN tranche TEXT CHECK (tranche IN ('advance', 'balance', 'full'));
UPDATE settlement_lines l SET tranche_id = t.id, tranche = 'full'
  FROM settlements s, grant_tranches t
 WHERE s.id = l.settlement_id AND t.campaign_id = l.campaign_id AND t.funder_id = s.funder_id;
DELETE FROM settlement_lines WHERE tranche_id IS NULL;
ALTER TABLE settlement_lines ALTER COLUMN tranche_id SET NOT NULL;
ALTER TABLE settlement_lines ALTER COLUMN tranche SET NOT NULL;
ALTER TABLE settlement_lines DROP CONSTRAINT settlement_lines_pkey;
ALTER TABLE settlement_lines ADD PRIMARY KEY (settlement_id, tranche_id);
CREATE INDEX settlement_lines_tranche ON settlement_lines (tranche_id);
