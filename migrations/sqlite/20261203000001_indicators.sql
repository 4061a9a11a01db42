-- Activity indicators (活動指標) and what happened at meetings. See src/indicators/.
--
-- An indicator belongs to a municipality and a fiscal year (the year it starts, 2026 = 令和8年度):
-- a name, a numeric target and a rule over the data (JSON, `indicators::Rule`): held occurrences
-- of series or kinds, distinct organisations taking part, coverage of a set of organisations,
-- staff with a qualification, bodies in existence.
CREATE TABLE indicators (
    id              INTEGER PRIMARY KEY,
    municipality_id INTEGER NOT NULL REFERENCES municipalities(id),
    fiscal_year     INTEGER NOT NULL,
    code            TEXT NOT NULL,
    name            TEXT NOT NULL,
    name_en         TEXT NOT NULL DEFAULT '',
    target          INTEGER NOT NULL,
    rule            TEXT NOT NULL,
    position        INTEGER NOT NULL DEFAULT 0,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    CONSTRAINT indicators_code_unique UNIQUE (municipality_id, fiscal_year, code)
);

-- What the coordinator recorded for a published occurrence: held (with the minutes link and
-- the number of participants from outside the lists) or not held (with the reason; cancelling
-- a meeting records it too). One row per occurrence, replaced when corrected.
CREATE TABLE occurrence_records (
    occurrence_id   INTEGER PRIMARY KEY REFERENCES occurrences(id),
    municipality_id INTEGER NOT NULL REFERENCES municipalities(id),
    outcome         TEXT NOT NULL CHECK (outcome IN ('held', 'not_held')),
    reason          TEXT NOT NULL DEFAULT '',
    minutes_url     TEXT NOT NULL DEFAULT '',
    external_participants INTEGER NOT NULL DEFAULT 0,
    recorded_by     INTEGER REFERENCES users(id),
    recorded_at     TEXT NOT NULL
);

-- Who came to a held occurrence: invitees (a deputy comes in the invitee's place and counts for
-- the invitee's organisation).
CREATE TABLE occurrence_participants (
    occurrence_id INTEGER NOT NULL REFERENCES occurrences(id),
    person_id     INTEGER NOT NULL REFERENCES people(id),
    deputy_name   TEXT NOT NULL DEFAULT '',
    CONSTRAINT occurrence_participants_pkey PRIMARY KEY (occurrence_id, person_id)
);

-- Invitees added to a published meeting by hand or by an indicator's proposal (`added` = 1):
-- publishing a new plan rewrites the planned invitees and keeps these.
ALTER TABLE occurrence_attendees ADD COLUMN added INTEGER NOT NULL DEFAULT 0;
