-- Donations counted and not yet numbered. A confirmation writes its donation here, in its own
-- transaction, instead of raising its association's receipt counter: the counter is one row per
-- association and year, and holding it until commit made every confirmation of an association
-- wait for the previous one's commit. Numbering (`app::receipts::number_queued`) moves queued
-- donations into `receipts` in short transactions of its own, one association and year at a
-- time, before anything shows or sends a receipt.
CREATE TABLE receipt_queue (
    pledge_id       TEXT PRIMARY KEY REFERENCES pledges(id),
    association_id  TEXT NOT NULL REFERENCES associations(id),
    campaign_id     TEXT NOT NULL REFERENCES campaigns(id),
    year            INTEGER NOT NULL,
    amount          BIGINT NOT NULL CHECK (amount > 0),
    currency        TEXT NOT NULL,
    issued_at       TIMESTAMP NOT NULL
);
CREATE INDEX receipt_queue_by_year ON receipt_queue (association_id, year, issued_at, pledge_id);
