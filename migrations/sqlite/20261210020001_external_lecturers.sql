-- External lecturers and supervisors booked three months ahead (issue 18, Meguro 002:
-- 「外部講師については3か月前を目途に日程調整をおこなう」).
--
-- people.external: an external lecturer or supervisor (外部講師・スーパーバイザー), asked from
-- outside for a meeting. people.availability: the windows they said they can come in, as
-- `master::parse_availability` reads and `master::availability_text` writes them
-- ("2027-05-12 13:00-17:00; 2027-06-01..2027-06-30 mon,wed 09:00-12:00"); '' is no window at
-- all, so an external person without availability is planned nowhere.
--
-- booking_tasks: one task per published meeting and external required invitee (日程調整・依頼),
-- due `lead_days` (default 90) before the meeting on an open day of the municipality. status
-- open -> requested -> confirmed / declined, each change a conditional write on the status and
-- version read (else 409); the lecturer's answer through the answer link moves it too.
-- meeting_date is the date the task was made for: a meeting moved since asks again (open).
-- notices.booking_task_id marks the reminder mail to the coordinators (kind 'reminder'; the
-- outbox's kind list cannot change in SQLite without rebuilding the table under foreign keys).
ALTER TABLE people ADD COLUMN external INTEGER NOT NULL DEFAULT 0;
ALTER TABLE people ADD COLUMN availability TEXT NOT NULL DEFAULT '';

CREATE TABLE booking_tasks (
    id              INTEGER PRIMARY KEY,
    municipality_id INTEGER NOT NULL REFERENCES municipalities(id),
    occurrence_id   INTEGER NOT NULL REFERENCES occurrences(id),
    person_id       INTEGER NOT NULL REFERENCES people(id),
    meeting_date    TEXT NOT NULL,
    due_date        TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'open'
                        CHECK (status IN ('open', 'requested', 'confirmed', 'declined')),
    version         INTEGER NOT NULL DEFAULT 1,
    note            TEXT NOT NULL DEFAULT '',
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    CONSTRAINT booking_tasks_unique UNIQUE (occurrence_id, person_id)
);
CREATE INDEX booking_tasks_by_due ON booking_tasks (municipality_id, status, due_date);

ALTER TABLE notices ADD COLUMN booking_task_id INTEGER REFERENCES booking_tasks(id);
