ALTER TABLE campaigns DROP COLUMN settlement_id;
DROP TABLE settlement_lines;
DROP TABLE settlement_items;
DROP TABLE settlements;
