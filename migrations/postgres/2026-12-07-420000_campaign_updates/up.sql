-- Project updates (issue 42): what an association tells its donors about the project. Plain
-- text; e-mailed to the donors who agreed to be contacted.
CREATE TABLE campaign_updates (
    id           TEXT PRIMARY KEY,
    campaign_id  TEXT NOT NULL REFERENCES campaigns(id),
    title        TEXT NOT NULL,
    body         TEXT NOT NULL,
    author_id    TEXT NOT NULL,
    -- How many donors it was sent to (distinct addresses that agreed to be contacted).
    recipients   INTEGER NOT NULL CHECK (recipients >= 0),
    created_at   TIMESTAMP NOT NULL
);
CREATE INDEX campaign_updates_campaign ON campaign_updates (campaign_id, created_at);
