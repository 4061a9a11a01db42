-- Notices (email) and attendance answers. See src/notices/ for the rules.
--
-- `notices` is the transactional outbox: a row is written in the transaction of the change that
-- causes it (publish, move, cancel, proposal, ...), keyed by `idempotency_key` (subject,
-- recipient, kind, version), so a retried change never queues a notice twice. The worker renders
-- the message once (`raw`, with a fixed Message-ID) and delivers exactly those bytes, retrying
-- transient failures with backoff; `raw` is cleared once delivered (it carries the answer link).
CREATE TABLE notices (
    id              INTEGER PRIMARY KEY,
    municipality_id INTEGER NOT NULL REFERENCES municipalities(id),
    kind            TEXT NOT NULL CHECK (kind IN ('invitation', 'update', 'cancellation', 'reminder', 'chase',
                        'placement_request', 'placement_confirmed', 'placement_withdrawn', 'vacancy_request')),
    occurrence_id   INTEGER REFERENCES occurrences(id),
    person_id       INTEGER REFERENCES people(id),
    request_id      INTEGER REFERENCES placement_requests(id),
    facility_id     INTEGER REFERENCES placement_facilities(id),
    version         INTEGER NOT NULL DEFAULT 0,
    idempotency_key TEXT NOT NULL,
    message_id      TEXT NOT NULL,
    recipient_email TEXT NOT NULL,
    recipient_name  TEXT NOT NULL DEFAULT '',
    subject         TEXT NOT NULL DEFAULT '',
    raw             TEXT,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed', 'superseded')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    lease_owner     TEXT,
    lease_until     TEXT,
    last_error      TEXT NOT NULL DEFAULT '',
    created_at      TEXT NOT NULL,
    sent_at         TEXT,
    CONSTRAINT notices_idempotency_unique UNIQUE (idempotency_key),
    CONSTRAINT notices_message_id_unique UNIQUE (message_id)
);
CREATE INDEX notices_due ON notices (status, next_attempt_at, id);
CREATE INDEX notices_by_occurrence ON notices (occurrence_id, person_id);
CREATE INDEX notices_by_municipality ON notices (municipality_id, created_at);

-- Personal answer links: 128 random bits, stored only as SHA-256; valid until `expires_at`
-- (after the meeting), revocable. One per notice; every link of a recipient answers for them.
CREATE TABLE answer_links (
    token_hash      TEXT PRIMARY KEY,
    municipality_id INTEGER NOT NULL REFERENCES municipalities(id),
    kind            TEXT NOT NULL CHECK (kind IN ('attendance', 'placement')),
    occurrence_id   INTEGER REFERENCES occurrences(id),
    person_id       INTEGER REFERENCES people(id),
    request_id      INTEGER REFERENCES placement_requests(id),
    facility_id     INTEGER REFERENCES placement_facilities(id),
    notice_id       INTEGER REFERENCES notices(id),
    expires_at      TEXT NOT NULL,
    revoked_at      TEXT,
    created_at      TEXT NOT NULL
);
CREATE INDEX answer_links_by_occurrence ON answer_links (occurrence_id, person_id);

-- The current answer of an invitee (attend / decline / send a deputy), changeable until the
-- answer deadline; each change is also in the audit log.
CREATE TABLE attendance_answers (
    occurrence_id       INTEGER NOT NULL REFERENCES occurrences(id),
    person_id           INTEGER NOT NULL REFERENCES people(id),
    municipality_id     INTEGER NOT NULL REFERENCES municipalities(id),
    answer              TEXT NOT NULL CHECK (answer IN ('attend', 'decline', 'deputy')),
    deputy_name         TEXT NOT NULL DEFAULT '',
    deputy_organisation TEXT NOT NULL DEFAULT '',
    comment             TEXT NOT NULL DEFAULT '',
    answered_at         TEXT NOT NULL,
    CONSTRAINT attendance_answers_pkey PRIMARY KEY (occurrence_id, person_id)
);
