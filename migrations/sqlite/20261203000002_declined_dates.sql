-- Days a person declined a meeting they were required at (see `Db::planning_snapshot`).
--
-- A declined answer is cleared when its meeting moves (everyone is asked again), but the day
-- stays one the person cannot come: every later plan treats it as an absence. Rows are written
-- in the publishing transaction that clears the answer, once per (person, day).
CREATE TABLE declined_dates (
    municipality_id INTEGER NOT NULL REFERENCES municipalities(id),
    person_id       INTEGER NOT NULL REFERENCES people(id),
    date            TEXT NOT NULL,
    CONSTRAINT declined_dates_pkey PRIMARY KEY (municipality_id, person_id, date)
);
