-- Calls for proposals (issue 41): application windows, a commission that scores against
-- published criteria, versioned rankings, appeals. See docs/adr/0019-calls-for-proposals.md.

-- The project's cost plan (JSON lines: category, description, amount in minor units).
ALTER TABLE campaigns ADD COLUMN cost_plan TEXT;

-- A fund's call: its windows and criteria (JSON, bounded and checked by the application).
CREATE TABLE calls (
    fund_id                     TEXT PRIMARY KEY REFERENCES funds(id),
    windows                     TEXT NOT NULL,
    criteria                    TEXT NOT NULL,
    pass_mark                   TEXT NOT NULL,
    evaluators_per_application  INTEGER NOT NULL CHECK (evaluators_per_application BETWEEN 1 AND 10),
    created_at                  TIMESTAMP NOT NULL,
    updated_at                  TIMESTAMP NOT NULL
);

-- A campaign submitted under a call: the window it came in, and what the ranking made of it.
CREATE TABLE applications (
    campaign_id     TEXT PRIMARY KEY REFERENCES campaigns(id),
    fund_id         TEXT NOT NULL REFERENCES funds(id),
    window_number   INTEGER NOT NULL CHECK (window_number >= 1),
    submitted_at    TIMESTAMP NOT NULL,
    -- Scores can no longer change (a published ranking holds them), until an appeal is upheld.
    frozen          BOOLEAN NOT NULL DEFAULT FALSE,
    outcome         TEXT CHECK (outcome IN ('admitted', 'eligible_not_funded', 'below_pass_mark')),
    published_at    TIMESTAMP
);
CREATE INDEX applications_fund_window ON applications (fund_id, window_number, submitted_at);

-- The commission: who evaluates an application, and their declaration (art. 6-bis
-- L. 241/1990): `conflict` is NULL until declared.
CREATE TABLE evaluators (
    campaign_id     TEXT NOT NULL REFERENCES campaigns(id),
    user_id         TEXT NOT NULL REFERENCES users(id),
    conflict        BOOLEAN,
    note            TEXT,
    declared_at     TIMESTAMP,
    assigned_at     TIMESTAMP NOT NULL,
    PRIMARY KEY (campaign_id, user_id)
);
CREATE INDEX evaluators_user ON evaluators (user_id, campaign_id);

-- An evaluator's points for one criterion (a decimal string, 0 to the criterion's maximum).
CREATE TABLE scores (
    campaign_id     TEXT NOT NULL REFERENCES campaigns(id),
    user_id         TEXT NOT NULL REFERENCES users(id),
    criterion       TEXT NOT NULL,
    points          TEXT NOT NULL,
    comment         TEXT,
    scored_at       TIMESTAMP NOT NULL,
    PRIMARY KEY (campaign_id, user_id, criterion)
);

-- Every published version of a window's ranking, as published (older versions stay readable).
CREATE TABLE rankings (
    fund_id         TEXT NOT NULL REFERENCES funds(id),
    window_number   INTEGER NOT NULL,
    version         INTEGER NOT NULL CHECK (version >= 1),
    reason          TEXT NOT NULL CHECK (reason IN ('publish', 'advance')),
    published_at    TIMESTAMP NOT NULL,
    published_by    TEXT NOT NULL,
    entries         TEXT NOT NULL,
    evaluators      TEXT NOT NULL,
    PRIMARY KEY (fund_id, window_number, version)
);

CREATE TABLE appeals (
    id              TEXT PRIMARY KEY,
    campaign_id     TEXT NOT NULL REFERENCES campaigns(id),
    association_id  TEXT NOT NULL REFERENCES associations(id),
    fund_id         TEXT NOT NULL REFERENCES funds(id),
    window_number   INTEGER NOT NULL,
    text            TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'upheld', 'dismissed')),
    reason          TEXT,
    created_by      TEXT NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    decided_by      TEXT,
    decided_at      TIMESTAMP
);
CREATE INDEX appeals_campaign ON appeals (campaign_id);
CREATE INDEX appeals_status ON appeals (status, id);
