-- Bank transfers (issue 40): donations the crowd sends from its own bank, matched from the
-- association's camt.053 statements. See docs/adr/0018-bank-transfers.md.

-- An asynchronous provider method (SEPA Direct Debit) reported `payment_intent.processing`:
-- the pledge waits for the provider's verdict and does not expire meanwhile.
ALTER TABLE pledges ADD COLUMN processing BOOLEAN NOT NULL DEFAULT FALSE;

-- A statement an association imported (what it held; the entries are booked once each).
CREATE TABLE bank_statements (
    id              TEXT PRIMARY KEY,
    association_id  TEXT NOT NULL REFERENCES associations(id),
    iban            TEXT NOT NULL,
    version         INTEGER NOT NULL,
    credits         INTEGER NOT NULL CHECK (credits >= 0),
    booked          INTEGER NOT NULL CHECK (booked >= 0),
    imported_by     TEXT NOT NULL,
    imported_at     TIMESTAMP NOT NULL
);
CREATE INDEX bank_statements_association ON bank_statements (association_id, imported_at);

-- One credit on an association's account, booked once whichever statements list it
-- (`booking_key`: the bank's reference, else a digest of the entry's own facts). Third
-- parties' data is kept minimised: the debtor's name and a masked IBAN, erased with the donor.
CREATE TABLE bank_entries (
    id              TEXT PRIMARY KEY,
    association_id  TEXT NOT NULL REFERENCES associations(id),
    statement_id    TEXT NOT NULL REFERENCES bank_statements(id),
    booking_key     TEXT NOT NULL,
    booking_date    DATE NOT NULL,
    amount          BIGINT NOT NULL CHECK (amount > 0),
    currency        TEXT NOT NULL,
    bank_reference  TEXT,
    -- The creditor reference found in the entry (structured, or in its free text).
    reference       TEXT,
    remittance      TEXT,
    debtor_name     TEXT,
    debtor_account  TEXT,
    status          TEXT NOT NULL CHECK (status IN ('matched', 'flagged', 'unmatched', 'assigned')),
    note            TEXT,
    pledge_id       TEXT REFERENCES pledges(id),
    assigned_by     TEXT,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL,
    UNIQUE (association_id, booking_key)
);
CREATE INDEX bank_entries_association_status ON bank_entries (association_id, status, id);
CREATE INDEX bank_entries_pledge ON bank_entries (pledge_id);
