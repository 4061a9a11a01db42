-- Meeting calendars (SQLite flavour; migrations/postgres holds the same schema for PostgreSQL).

-- A recurring duty as the coordinator describes it (src/meetings/spec.rs). The description is
-- JSON in `spec`; code, title and kind are columns for lists and lookups.
CREATE TABLE meeting_series (
    id              INTEGER PRIMARY KEY,
    municipality_id INTEGER NOT NULL REFERENCES municipalities(id),
    code            TEXT NOT NULL,
    title           TEXT NOT NULL,
    kind            TEXT NOT NULL,
    spec            TEXT NOT NULL,
    active          INTEGER NOT NULL DEFAULT 1,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    CONSTRAINT meeting_series_code_unique UNIQUE (municipality_id, code)
);

-- One planning run: the instance as it was when the coordinator pressed the button, the job
-- that solves it, and its result (a validated plan or an explanation). Publishing a run turns
-- its plan into occurrences; `base_publication` is the publication the run planned against.
CREATE TABLE plan_runs (
    id               INTEGER PRIMARY KEY,
    municipality_id  INTEGER NOT NULL REFERENCES municipalities(id),
    job_id           INTEGER REFERENCES jobs(id),
    method           TEXT NOT NULL,
    period_from      TEXT NOT NULL,
    period_to        TEXT NOT NULL,
    label            TEXT NOT NULL DEFAULT '',
    instance         TEXT NOT NULL,
    mapping          TEXT NOT NULL,
    notes            TEXT NOT NULL DEFAULT '[]',
    best_so_far      TEXT,
    result           TEXT,
    base_publication INTEGER NOT NULL DEFAULT 0,
    created_by       INTEGER REFERENCES users(id),
    created_at       TEXT NOT NULL,
    published_at     TEXT
);
CREATE INDEX plan_runs_by_municipality ON plan_runs (municipality_id, created_at);

-- Each publish of a plan: numbered per municipality, so a plan made before a newer publish
-- cannot overwrite it.
CREATE TABLE publications (
    id              INTEGER PRIMARY KEY,
    municipality_id INTEGER NOT NULL REFERENCES municipalities(id),
    plan_run_id     INTEGER NOT NULL REFERENCES plan_runs(id),
    published_by    INTEGER REFERENCES users(id),
    published_at    TEXT NOT NULL,
    added           INTEGER NOT NULL DEFAULT 0,
    moved           INTEGER NOT NULL DEFAULT 0,
    cancelled       INTEGER NOT NULL DEFAULT 0,
    CONSTRAINT publications_plan_unique UNIQUE (plan_run_id)
);

-- The published calendar. `series_key` names the generated series (`WARDNET@東区`,
-- `VISIT@O-HIG-01`); `uid` and `sequence` are the iCalendar identity and revision; a
-- cancelled occurrence stays (status 'cancelled') so feeds can tell subscribers.
-- The place is a room, or the visited organisation itself.
CREATE TABLE occurrences (
    id                    INTEGER PRIMARY KEY,
    municipality_id       INTEGER NOT NULL REFERENCES municipalities(id),
    uid                   TEXT NOT NULL UNIQUE,
    series_id             INTEGER NOT NULL REFERENCES meeting_series(id),
    series_key            TEXT NOT NULL,
    title                 TEXT NOT NULL,
    title_en              TEXT NOT NULL DEFAULT '',
    kind                  TEXT NOT NULL,
    ward                  TEXT NOT NULL DEFAULT '',
    date                  TEXT NOT NULL,
    start_time            TEXT NOT NULL,
    end_time              TEXT NOT NULL,
    room_id               INTEGER REFERENCES rooms(id),
    place_organisation_id INTEGER REFERENCES organisations(id),
    status                TEXT NOT NULL CHECK (status IN ('scheduled', 'cancelled')),
    pin                   TEXT NOT NULL DEFAULT 'none' CHECK (pin IN ('none', 'full', 'date')),
    sequence              INTEGER NOT NULL DEFAULT 0,
    publication_id        INTEGER NOT NULL REFERENCES publications(id),
    created_at            TEXT NOT NULL,
    updated_at            TEXT NOT NULL
);
CREATE INDEX occurrences_by_date ON occurrences (municipality_id, date);
CREATE INDEX occurrences_by_room ON occurrences (municipality_id, room_id, date);

-- Who is invited to an occurrence: required attendees, and optional invitees who can come.
CREATE TABLE occurrence_attendees (
    occurrence_id INTEGER NOT NULL REFERENCES occurrences(id) ON DELETE CASCADE,
    person_id     INTEGER NOT NULL REFERENCES people(id),
    required      INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (occurrence_id, person_id)
);
CREATE INDEX occurrence_attendees_by_person ON occurrence_attendees (person_id);

-- Secret behind the calendar feed links (one per municipality); rotating it revokes every link.
CREATE TABLE feed_keys (
    municipality_id INTEGER PRIMARY KEY REFERENCES municipalities(id),
    secret          TEXT NOT NULL,
    created_at      TEXT NOT NULL
);
