-- What a published meeting was before it moved (issue 16: an update mail shows before → after).
-- One row per move: the sequence the move gave the meeting, and the date, times and place it
-- had until then.
CREATE TABLE occurrence_changes (
    id              BIGSERIAL PRIMARY KEY,
    municipality_id BIGINT NOT NULL REFERENCES municipalities(id),
    occurrence_id   BIGINT NOT NULL REFERENCES occurrences(id),
    sequence        BIGINT NOT NULL,
    date            TEXT NOT NULL,
    start_time      TEXT NOT NULL,
    end_time        TEXT NOT NULL,
    place           TEXT NOT NULL DEFAULT '',
    created_at      TEXT NOT NULL,
    CONSTRAINT occurrence_changes_unique UNIQUE (occurrence_id, sequence)
);
