DROP TABLE crowd_entries;
DROP TABLE payout_batches;
DROP TABLE payout_reversals;
DROP TABLE payouts;
DROP TABLE crowd_positions;
DROP TABLE payout_accounts;
