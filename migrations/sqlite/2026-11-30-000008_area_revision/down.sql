ALTER TABLE areas DROP COLUMN revision;
