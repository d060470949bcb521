-- Foundation schema. Money is BIGINT minor units; ratios are exact decimal strings;
-- timestamps are UTC (TIMESTAMP without time zone, always written as UTC by the service).

CREATE TABLE associations (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    tax_code    TEXT NOT NULL UNIQUE,
    iban        TEXT NOT NULL,
    bic         TEXT,
    email       TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL
);

CREATE TABLE users (
    id              TEXT PRIMARY KEY,
    username        TEXT NOT NULL UNIQUE,
    password_hash   TEXT NOT NULL,
    role            TEXT NOT NULL CHECK (role IN ('admin', 'reviewer', 'finance', 'association')),
    association_id  TEXT REFERENCES associations(id),
    email           TEXT,
    created_at      TIMESTAMP NOT NULL,
    CHECK ((role = 'association') = (association_id IS NOT NULL))
);

CREATE TABLE partners (
    id                  TEXT PRIMARY KEY,
    name                TEXT NOT NULL,
    client_id           TEXT NOT NULL UNIQUE,
    client_secret_hash  TEXT NOT NULL,
    webhook_url         TEXT,
    webhook_secret      TEXT NOT NULL,
    created_at          TIMESTAMP NOT NULL
);

CREATE TABLE areas (
    id          TEXT PRIMARY KEY,
    code        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    geometry    TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL
);

CREATE TABLE funds (
    id                      TEXT PRIMARY KEY,
    name                    TEXT NOT NULL,
    currency                TEXT NOT NULL,
    budget                  BIGINT NOT NULL CHECK (budget >= 0),
    threshold_ratio         TEXT NOT NULL,
    match_ratio             TEXT NOT NULL,
    max_match_per_campaign  BIGINT CHECK (max_match_per_campaign > 0),
    min_goal                BIGINT CHECK (min_goal > 0),
    max_goal                BIGINT CHECK (max_goal > 0),
    min_donors              INTEGER NOT NULL CHECK (min_donors >= 1),
    opens_at                TIMESTAMP NOT NULL,
    closes_at               TIMESTAMP NOT NULL,
    allocation              TEXT NOT NULL CHECK (allocation IN ('on_threshold', 'on_approval')),
    exhaustion_policy       TEXT NOT NULL CHECK (exhaustion_policy IN ('waitlist', 'partial')),
    cup                     TEXT,
    reserved                BIGINT NOT NULL DEFAULT 0 CHECK (reserved >= 0),
    committed               BIGINT NOT NULL DEFAULT 0 CHECK (committed >= 0),
    settled                 BIGINT NOT NULL DEFAULT 0 CHECK (settled >= 0),
    created_at              TIMESTAMP NOT NULL,
    CHECK (closes_at > opens_at),
    CHECK (min_goal IS NULL OR max_goal IS NULL OR min_goal <= max_goal),
    -- Backstop: the city can never promise more than the budget.
    CHECK (reserved + committed + settled <= budget)
);

CREATE TABLE fund_areas (
    fund_id  TEXT NOT NULL REFERENCES funds(id),
    area_id  TEXT NOT NULL REFERENCES areas(id),
    PRIMARY KEY (fund_id, area_id)
);

CREATE TABLE campaigns (
    id                TEXT PRIMARY KEY,
    association_id    TEXT NOT NULL REFERENCES associations(id),
    fund_id           TEXT NOT NULL REFERENCES funds(id),
    area_id           TEXT NOT NULL REFERENCES areas(id),
    title             TEXT NOT NULL,
    summary           TEXT NOT NULL,
    goal              BIGINT NOT NULL CHECK (goal > 0),
    currency          TEXT NOT NULL,
    location_lat      DOUBLE PRECISION NOT NULL,
    location_lon      DOUBLE PRECISION NOT NULL,
    starts_at         TIMESTAMP NOT NULL,
    ends_at           TIMESTAMP NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('draft', 'submitted', 'approved', 'rejected', 'live', 'closing', 'succeeded', 'failed', 'cancelled')),
    rejection_reason  TEXT,
    raised            BIGINT NOT NULL DEFAULT 0 CHECK (raised >= 0),
    donors            INTEGER NOT NULL DEFAULT 0 CHECK (donors >= 0),
    match_status      TEXT NOT NULL DEFAULT 'none' CHECK (match_status IN ('none', 'waitlisted', 'reserved', 'committed', 'settled', 'revoked')),
    match_amount      BIGINT NOT NULL DEFAULT 0 CHECK (match_amount >= 0),
    created_at        TIMESTAMP NOT NULL,
    updated_at        TIMESTAMP NOT NULL,
    CHECK (ends_at > starts_at)
);

CREATE INDEX campaigns_status_starts ON campaigns (status, starts_at);
CREATE INDEX campaigns_status_ends ON campaigns (status, ends_at);
CREATE INDEX campaigns_fund ON campaigns (fund_id, id);
CREATE INDEX campaigns_association ON campaigns (association_id, id);

-- Append-only record of state-changing actions (who, what, when).
CREATE TABLE audit_log (
    id           TEXT PRIMARY KEY,
    actor_id     TEXT,
    actor_role   TEXT NOT NULL,
    action       TEXT NOT NULL,
    object_type  TEXT NOT NULL,
    object_id    TEXT NOT NULL,
    detail       TEXT,
    created_at   TIMESTAMP NOT NULL
);
CREATE INDEX audit_log_object ON audit_log (object_type, object_id);
