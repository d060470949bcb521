-- Which gifts a quadratic round counts: "donor" (every gift, each donor by identity) or
-- "tax_code" (only gifts that carry a tax code). Existing funds keep counting every gift.
ALTER TABLE funds ADD COLUMN quadratic_identity TEXT NOT NULL DEFAULT 'donor';
-- Donor identities (pledges.donor_key) are keyed hashes from now on, prefixed "t:" (tax code)
-- or "e:" (address); the service computes them, SQL cannot. Pledges written before keep the
-- unkeyed hash they were filed under and still count, each key one donor as before (see
-- docs/guide.md, "Donor identity").
-- The per-partner hold cap sums a partner's live holds in a fund.
CREATE INDEX match_holds_fund_status ON match_holds (fund_id, status);
