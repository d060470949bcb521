-- The pledges still waiting for their payment, apart from the pledges themselves: the jobs that
-- expire or reconcile them find them here, by age. An index on `pledges.status` made every
-- confirmation update all of the pledge's indexes (a column in an index changed), where
-- PostgreSQL can otherwise rewrite the row in place on its page (a heap-only update).
-- Invariant (checked by GET /v1/reconciliation): a pledge is here exactly while its status is
-- 'pending'.
CREATE TABLE pending_pledges (
    pledge_id   TEXT PRIMARY KEY REFERENCES pledges(id),
    created_at  TIMESTAMP NOT NULL
);
CREATE INDEX pending_pledges_created ON pending_pledges (created_at, pledge_id);
INSERT INTO pending_pledges (pledge_id, created_at)
    SELECT id, created_at FROM pledges WHERE status = 'pending';
DROP INDEX pledges_status_created;
-- Room on each page for a pledge's later versions (creation response, confirmation), so that
-- they stay on the page and heap-only (applies to pages written from now on).
ALTER TABLE pledges SET (fillfactor = 70);
