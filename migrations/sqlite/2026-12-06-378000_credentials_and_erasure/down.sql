ALTER TABLE partners DROP COLUMN webhook_secret_previous_until;
ALTER TABLE partners DROP COLUMN webhook_secret_previous;
ALTER TABLE partners DROP COLUMN secret_version;
