DROP TABLE bank_entries;
DROP TABLE bank_statements;
ALTER TABLE pledges DROP COLUMN processing;
