DROP INDEX match_holds_fund_status;
ALTER TABLE funds DROP COLUMN quadratic_identity;
