-- One row per background job: the replica that holds its lease runs it, renewing the lease on
-- every pass; when a replica dies its leases run out and another replica takes the job over.
CREATE TABLE job_leases (
    job          TEXT PRIMARY KEY,
    holder       TEXT NOT NULL,
    lease_until  TIMESTAMP NOT NULL,
    acquired_at  TIMESTAMP NOT NULL,
    renewed_at   TIMESTAMP NOT NULL,
    -- Times the job changed hands because a holder's lease ran out.
    takeovers    BIGINT NOT NULL DEFAULT 0
);
