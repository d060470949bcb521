-- Batch lines keep their tranche columns: they name rows of money already paid.
DROP TABLE grant_expense_documents;
DROP TABLE grant_recoveries;
DROP TABLE grant_expenses;
DROP TABLE grant_documents;
DROP INDEX grants_status_due;
ALTER TABLE funders DROP COLUMN recoverable;
ALTER TABLE funds DROP COLUMN recoverable;
ALTER TABLE funds DROP COLUMN reporting_days;
ALTER TABLE funds DROP COLUMN advance_ratio;
ALTER TABLE funds DROP COLUMN payment_plan;
