CREATE INDEX pledges_status_created ON pledges (status, created_at);
DROP TABLE pending_pledges;
