DROP INDEX pending_pledges_checked;
ALTER TABLE pending_pledges DROP COLUMN checked_at;
