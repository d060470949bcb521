-- A partner's client-secret generation: every token carries the generation it was issued
-- against, and a rotation raises it, so a token issued with the old secret is refused whatever
-- its issue time (the same second as the rotation, or a check that read the old hash).
ALTER TABLE partners ADD COLUMN secret_version BIGINT NOT NULL DEFAULT 0;
-- The webhook secret a rotation replaced, and until when deliveries are signed with it too.
ALTER TABLE partners ADD COLUMN webhook_secret_previous TEXT;
ALTER TABLE partners ADD COLUMN webhook_secret_previous_until TIMESTAMP;
-- Pledges of donors erased before request hashes were keyed: their plain SHA-256 of the body
-- could confirm a guessed donor. They can never match a retry again.
UPDATE pledges SET request_hash = 'erased'
 WHERE id IN (SELECT pledge_id FROM donors WHERE erased_at IS NOT NULL);
