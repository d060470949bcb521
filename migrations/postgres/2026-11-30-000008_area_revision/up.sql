-- Bumped on every change to an area, so replicas can tell when their in-memory area index is stale.
ALTER TABLE areas ADD COLUMN revision BIGINT NOT NULL DEFAULT 1;
