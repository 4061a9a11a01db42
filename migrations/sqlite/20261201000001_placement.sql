-- Emergency placement (SQLite flavour; migrations/postgres holds the same schema for PostgreSQL).
-- Lists (disability types, medical care, known facilities) are comma-separated slugs or ids:
-- small, always read whole.

-- A place that can take an emergency: the hub's emergency rooms (緊急用居室), a short-stay
-- facility (短期入所) or a group home's trial room (体験室). It belongs to an organisation.
-- `vacancy_confirmed_at/by` say when and by whom its bed-nights were last confirmed; older
-- than a week, the board shows its free nights as stale. `link_token_hash` is the SHA-256 of
-- the no-login link the facility uses to update its vacancies.
CREATE TABLE placement_facilities (
    id                   INTEGER PRIMARY KEY,
    municipality_id      INTEGER NOT NULL REFERENCES municipalities(id),
    organisation_id      INTEGER NOT NULL REFERENCES organisations(id),
    code                 TEXT NOT NULL,
    name                 TEXT NOT NULL,
    kind                 TEXT NOT NULL CHECK (kind IN ('hub_emergency', 'short_stay', 'group_home_trial')),
    x_km                 REAL NOT NULL DEFAULT 0,
    y_km                 REAL NOT NULL DEFAULT 0,
    disability_types     TEXT NOT NULL DEFAULT '',
    adults               INTEGER NOT NULL DEFAULT 1,
    children             INTEGER NOT NULL DEFAULT 0,
    medical_care         TEXT NOT NULL DEFAULT '',
    behavioural_support  INTEGER NOT NULL DEFAULT 0,
    night_staff          INTEGER NOT NULL DEFAULT 0,
    contact_email        TEXT NOT NULL DEFAULT '',
    vacancy_confirmed_at TEXT,
    vacancy_confirmed_by TEXT NOT NULL DEFAULT '',
    link_token_hash      TEXT,
    created_at           TEXT NOT NULL,
    updated_at           TEXT NOT NULL,
    CONSTRAINT placement_facilities_code_unique UNIQUE (municipality_id, code),
    CONSTRAINT placement_facilities_link_unique UNIQUE (link_token_hash)
);

CREATE TABLE placement_rooms (
    id              INTEGER PRIMARY KEY,
    municipality_id INTEGER NOT NULL REFERENCES municipalities(id),
    facility_id     INTEGER NOT NULL REFERENCES placement_facilities(id),
    name            TEXT NOT NULL,
    sex_policy      TEXT NOT NULL CHECK (sex_policy IN ('male', 'female', 'any', 'same_as_occupants'))
);
CREATE INDEX placement_rooms_by_facility ON placement_rooms (municipality_id, facility_id);

CREATE TABLE beds (
    id              INTEGER PRIMARY KEY,
    municipality_id INTEGER NOT NULL REFERENCES municipalities(id),
    room_id         INTEGER NOT NULL REFERENCES placement_rooms(id),
    name            TEXT NOT NULL,
    wheelchair      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX beds_by_room ON beds (municipality_id, room_id);

-- A request for an emergency stay (緊急受入れの相談). Personal data (name, kana, contact,
-- notes) is shown to hub staff only, and every read of it is audited. `case_number` is what
-- everyone else sees. Nights are [from_night, to_night).
CREATE TABLE placement_requests (
    id                  INTEGER PRIMARY KEY,
    municipality_id     INTEGER NOT NULL REFERENCES municipalities(id),
    case_number         TEXT NOT NULL,
    person_name         TEXT NOT NULL,
    person_kana         TEXT NOT NULL DEFAULT '',
    contact             TEXT NOT NULL DEFAULT '',
    notes               TEXT NOT NULL DEFAULT '',
    preregistered       INTEGER NOT NULL DEFAULT 0,
    sex                 TEXT NOT NULL CHECK (sex IN ('male', 'female')),
    child               INTEGER NOT NULL DEFAULT 0,
    disability_types    TEXT NOT NULL DEFAULT '',
    wheelchair          INTEGER NOT NULL DEFAULT 0,
    medical_care        TEXT NOT NULL DEFAULT '',
    behavioural_support INTEGER NOT NULL DEFAULT 0,
    night_staff         INTEGER NOT NULL DEFAULT 0,
    from_night          TEXT NOT NULL,
    to_night            TEXT NOT NULL,
    urgency             INTEGER NOT NULL DEFAULT 3 CHECK (urgency BETWEEN 1 AND 5),
    home_x_km           REAL NOT NULL DEFAULT 0,
    home_y_km           REAL NOT NULL DEFAULT 0,
    known_facilities    TEXT NOT NULL DEFAULT '',
    referrer_id         INTEGER REFERENCES organisations(id),
    status              TEXT NOT NULL CHECK (status IN ('consultation', 'proposed', 'accepted', 'declined', 'placed', 'ended', 'withdrawn')),
    status_reason       TEXT NOT NULL DEFAULT '',
    created_by          INTEGER REFERENCES users(id),
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL,
    CHECK (from_night < to_night),
    CONSTRAINT placement_requests_case_unique UNIQUE (municipality_id, case_number)
);
CREATE INDEX placement_requests_by_status ON placement_requests (municipality_id, status);

-- The status flow of a request, one row per step, with the reason given.
CREATE TABLE placement_events (
    id              INTEGER PRIMARY KEY,
    municipality_id INTEGER NOT NULL REFERENCES municipalities(id),
    request_id      INTEGER NOT NULL REFERENCES placement_requests(id),
    at              TEXT NOT NULL,
    user_id         INTEGER REFERENCES users(id),
    from_status     TEXT NOT NULL,
    to_status       TEXT NOT NULL,
    reason          TEXT NOT NULL DEFAULT ''
);
CREATE INDEX placement_events_by_request ON placement_events (municipality_id, request_id);

-- A proposal of a stay to a facility: the segments of the stay (bed, nights) held until
-- `expires_at`, then accepted or declined by the facility, then confirmed as the placement.
-- status: held -> accepted -> placed, or declined / expired / withdrawn (the nights are free again).
CREATE TABLE placement_holds (
    id              INTEGER PRIMARY KEY,
    municipality_id INTEGER NOT NULL REFERENCES municipalities(id),
    request_id      INTEGER NOT NULL REFERENCES placement_requests(id),
    bed_id          INTEGER NOT NULL REFERENCES beds(id),
    from_night      TEXT NOT NULL,
    to_night        TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('held', 'accepted', 'placed', 'declined', 'expired', 'withdrawn', 'ended')),
    expires_at      TEXT NOT NULL,
    answered_at     TEXT,
    answer_reason   TEXT NOT NULL DEFAULT '',
    created_at      TEXT NOT NULL,
    CHECK (from_night < to_night)
);
CREATE INDEX placement_holds_by_request ON placement_holds (municipality_id, request_id);

-- One row per taken bed-night. The primary key (bed_id, night) is what makes a double booking
-- impossible on both engines: of two transactions taking the same bed-night, the second fails
-- with a unique violation (on PostgreSQL it waits for the first to commit, then fails).
-- state: 'occupied' (a regular booking of the facility), 'held' (a proposal not yet confirmed;
-- `hold_id` says which, and an expired hold is removed before the night is given again) or
-- 'placed' (a confirmed emergency placement).
CREATE TABLE bed_nights (
    bed_id          INTEGER NOT NULL REFERENCES beds(id),
    night           TEXT NOT NULL,
    municipality_id INTEGER NOT NULL REFERENCES municipalities(id),
    state           TEXT NOT NULL CHECK (state IN ('occupied', 'held', 'placed')),
    occupant_sex    TEXT CHECK (occupant_sex IN ('male', 'female')),
    hold_id         INTEGER REFERENCES placement_holds(id),
    expires_at      TEXT,
    updated_at      TEXT NOT NULL,
    CONSTRAINT bed_nights_pkey PRIMARY KEY (bed_id, night)
);
-- Covers the board's and the search's read of a range of nights (no table lookups).
CREATE INDEX bed_nights_by_night ON bed_nights (municipality_id, night, bed_id, state, expires_at, occupant_sex);
CREATE INDEX bed_nights_by_hold ON bed_nights (hold_id);

-- Preventive support for people at risk of an emergency (予防的支援), logged by hub staff.
CREATE TABLE preventive_actions (
    id              INTEGER PRIMARY KEY,
    municipality_id INTEGER NOT NULL REFERENCES municipalities(id),
    request_id      INTEGER REFERENCES placement_requests(id),
    on_date         TEXT NOT NULL,
    kind            TEXT NOT NULL,
    note            TEXT NOT NULL DEFAULT '',
    created_by      INTEGER REFERENCES users(id),
    created_at      TEXT NOT NULL
);
