-- Foundation schema (SQLite flavour; migrations/postgres holds the same schema for PostgreSQL).
--
-- Conventions shared by both engines, so one query text runs on both through sqlx's Any driver:
--   * ids are 64-bit integers; flags are integers 0/1 (Any cannot decode SQLite integers as bool);
--   * instants are TEXT in UTC, fixed format 'YYYY-MM-DDTHH:MM:SS.ffffffZ' so they sort as text;
--   * calendar dates are TEXT 'YYYY-MM-DD' in JST;
--   * every tenant-owned row carries municipality_id, and every query filters on it.

-- A municipality (自治体) is the tenant: one deployment can serve several.
CREATE TABLE municipalities (
    id          INTEGER PRIMARY KEY,
    code        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    name_en     TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL
);

-- Organisations: core centers, consultation offices, ward sections, hospitals, facilities, hubs.
CREATE TABLE organisations (
    id              INTEGER PRIMARY KEY,
    municipality_id INTEGER NOT NULL REFERENCES municipalities(id),
    code            TEXT NOT NULL,
    name            TEXT NOT NULL,
    kana            TEXT NOT NULL DEFAULT '',
    kind            TEXT NOT NULL,
    ward            TEXT NOT NULL DEFAULT '',
    address         TEXT NOT NULL DEFAULT '',
    phone           TEXT NOT NULL DEFAULT '',
    email           TEXT NOT NULL DEFAULT '',
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    CONSTRAINT organisations_code_unique UNIQUE (municipality_id, code)
);
CREATE INDEX organisations_by_municipality ON organisations (municipality_id, kind, ward);

-- People: staff of the organisations, invitees of meetings.
-- roles, qualifications and part_time_days are comma-separated lists (small, always read whole).
CREATE TABLE people (
    id              INTEGER PRIMARY KEY,
    municipality_id INTEGER NOT NULL REFERENCES municipalities(id),
    code            TEXT NOT NULL,
    name            TEXT NOT NULL,
    kana            TEXT NOT NULL DEFAULT '',
    email           TEXT NOT NULL DEFAULT '',
    organisation_id INTEGER REFERENCES organisations(id),
    roles           TEXT NOT NULL DEFAULT '',
    qualifications  TEXT NOT NULL DEFAULT '',
    part_time_days  TEXT NOT NULL DEFAULT '',
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    CONSTRAINT people_code_unique UNIQUE (municipality_id, code)
);
CREATE INDEX people_by_organisation ON people (municipality_id, organisation_id);

-- Absences (休暇・出張): inclusive JST date ranges in which a person cannot be scheduled.
CREATE TABLE absences (
    id              INTEGER PRIMARY KEY,
    municipality_id INTEGER NOT NULL REFERENCES municipalities(id),
    person_id       INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    from_date       TEXT NOT NULL,
    to_date         TEXT NOT NULL,
    reason          TEXT NOT NULL DEFAULT '',
    CHECK (from_date <= to_date)
);
CREATE INDEX absences_by_person ON absences (municipality_id, person_id);

-- Venues (会場) are buildings with an address and opening hours; rooms (部屋) are what gets booked.
CREATE TABLE venues (
    id              INTEGER PRIMARY KEY,
    municipality_id INTEGER NOT NULL REFERENCES municipalities(id),
    code            TEXT NOT NULL,
    name            TEXT NOT NULL,
    ward            TEXT NOT NULL DEFAULT '',
    address         TEXT NOT NULL DEFAULT '',
    opening_hours   TEXT NOT NULL DEFAULT 'mon-fri 08:30-17:30',
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    CONSTRAINT venues_code_unique UNIQUE (municipality_id, code)
);

CREATE TABLE rooms (
    id              INTEGER PRIMARY KEY,
    municipality_id INTEGER NOT NULL REFERENCES municipalities(id),
    venue_id        INTEGER NOT NULL REFERENCES venues(id),
    code            TEXT NOT NULL,
    name            TEXT NOT NULL,
    capacity        INTEGER NOT NULL CHECK (capacity > 0),
    wheelchair      INTEGER NOT NULL DEFAULT 0,
    hearing_loop    INTEGER NOT NULL DEFAULT 0,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    CONSTRAINT rooms_code_unique UNIQUE (municipality_id, code)
);
CREATE INDEX rooms_by_venue ON rooms (municipality_id, venue_id);

-- Extra closures (臨時休業) per municipality (venue_id NULL) or per venue, beyond holidays and 年末年始.
CREATE TABLE closures (
    id              INTEGER PRIMARY KEY,
    municipality_id INTEGER NOT NULL REFERENCES municipalities(id),
    venue_id        INTEGER REFERENCES venues(id),
    date            TEXT NOT NULL,
    reason          TEXT NOT NULL
);
CREATE INDEX closures_by_date ON closures (municipality_id, date);

-- Staff accounts. Usernames are unique across the deployment so login needs no tenant picker.
CREATE TABLE users (
    id              INTEGER PRIMARY KEY,
    municipality_id INTEGER NOT NULL REFERENCES municipalities(id),
    username        TEXT NOT NULL UNIQUE,
    display_name    TEXT NOT NULL,
    password_hash   TEXT NOT NULL,
    role            TEXT NOT NULL CHECK (role IN ('admin', 'coordinator', 'hub_staff', 'viewer')),
    locale          TEXT NOT NULL DEFAULT 'ja',
    disabled        INTEGER NOT NULL DEFAULT 0,
    created_at      TEXT NOT NULL
);

-- Browser sessions. Only the SHA-256 of the cookie value is stored.
CREATE TABLE sessions (
    token_hash  TEXT PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_token  TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL
);

-- API tokens for scripts. Only the SHA-256 of the token is stored.
CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    created_at   TEXT NOT NULL,
    revoked_at   TEXT
);

-- Login attempts, kept in the database so the rate limit holds across service instances.
CREATE TABLE login_attempts (
    id          INTEGER PRIMARY KEY,
    username    TEXT NOT NULL,
    at          TEXT NOT NULL,
    success     INTEGER NOT NULL
);
CREATE INDEX login_attempts_by_username ON login_attempts (username, at);

-- Audit log: every write, who, when, what. Never updated or deleted by the service.
CREATE TABLE audit_log (
    id              INTEGER PRIMARY KEY,
    municipality_id INTEGER REFERENCES municipalities(id),
    user_id         INTEGER REFERENCES users(id),
    at              TEXT NOT NULL,
    action          TEXT NOT NULL,
    entity          TEXT NOT NULL,
    entity_id       TEXT NOT NULL DEFAULT '',
    detail          TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_by_municipality ON audit_log (municipality_id, at);

-- Background jobs (solves, mail delivery, reminders), claimed with a lease: a worker that dies
-- leaves its lease to expire and another worker takes the job again. Results are written in the
-- same transaction that completes the job, so a job is done exactly when its effects are stored.
CREATE TABLE jobs (
    id              INTEGER PRIMARY KEY,
    municipality_id INTEGER REFERENCES municipalities(id),
    kind            TEXT NOT NULL,
    payload         TEXT NOT NULL DEFAULT '{}',
    idempotency_key TEXT UNIQUE,
    status          TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    max_attempts    INTEGER NOT NULL DEFAULT 5,
    run_after       TEXT NOT NULL,
    lease_owner     TEXT,
    lease_until     TEXT,
    progress        REAL NOT NULL DEFAULT 0,
    progress_note   TEXT NOT NULL DEFAULT '',
    result          TEXT,
    last_error      TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX jobs_claimable ON jobs (status, run_after);
