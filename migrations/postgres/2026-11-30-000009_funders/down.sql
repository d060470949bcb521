DROP TABLE match_holds;
ALTER TABLE settlements DROP COLUMN funder_id;
DROP TABLE match_parts;
DROP INDEX postings_funder_account;
ALTER TABLE postings DROP CONSTRAINT postings_account_check;
ALTER TABLE postings ADD CONSTRAINT postings_account_check
    CHECK (account IN ('budget_source', 'available', 'reserved', 'committed', 'settled'));
ALTER TABLE postings DROP COLUMN funder_id;
ALTER TABLE journal_entries DROP COLUMN funder_id;
ALTER TABLE funds DROP CONSTRAINT funds_promised_within_budget;
ALTER TABLE funds DROP COLUMN distributed_at;
ALTER TABLE funds DROP COLUMN min_contribution;
ALTER TABLE funds DROP COLUMN match_hold_secs;
ALTER TABLE funds DROP COLUMN max_match_per_donation;
ALTER TABLE funds DROP COLUMN match_policy;
ALTER TABLE funds DROP COLUMN funding_split;
ALTER TABLE funds DROP COLUMN held;
DROP TABLE funders;
