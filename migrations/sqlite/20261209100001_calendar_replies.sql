-- Answers given with the calendar's own buttons (issue 16): iTIP replies read from the organizer
-- mailbox (src/notices/imap.rs, src/store/replies.rs).
--
-- `attendance_answers.source` says where an answer came from: `link` (the personal answer page),
-- `calendar` (an iTIP REPLY: Accept / Decline in Outlook, Gmail, Apple Mail) or `coordinator`.
-- Rows written before this migration all came through the answer link.
ALTER TABLE attendance_answers ADD COLUMN source TEXT NOT NULL DEFAULT 'link'
    CHECK (source IN ('link', 'calendar', 'coordinator'));

-- One row per calendar reply read, whatever became of it, keyed by the message's Message-ID
-- (or a hash of its bytes): a message read again (a poll that died before it could mark the
-- mail, two instances at once) finds its row and changes nothing. The row is written in the
-- transaction that records the answer, so "read" and "answered" commit together.
-- `outcome`: applied (the answer changed), unchanged (it already said so), tentative (recorded
-- here only: renkei's answers are firm), and the ignored ones: stale (a SEQUENCE older than the
-- meeting's: the meeting moved since), forged (From is neither the attendee nor their SENT-BY,
-- or the receiving server found DMARC failed), unknown_meeting (no such UID),
-- unknown_attendee (not an invitee with that address), cancelled, after_deadline (the answer
-- link is closed too), superseded (an answer given after the reply was written), no_answer
-- (NEEDS-ACTION), malformed.
CREATE TABLE calendar_replies (
    id              INTEGER PRIMARY KEY,
    message_key     TEXT NOT NULL,
    municipality_id INTEGER REFERENCES municipalities(id),
    occurrence_id   INTEGER REFERENCES occurrences(id),
    person_id       INTEGER REFERENCES people(id),
    uid             TEXT NOT NULL DEFAULT '',
    sequence        INTEGER,
    attendee        TEXT NOT NULL DEFAULT '',
    sender          TEXT NOT NULL DEFAULT '',
    partstat        TEXT NOT NULL DEFAULT '',
    client          TEXT NOT NULL DEFAULT '',
    outcome         TEXT NOT NULL CHECK (outcome IN ('applied', 'unchanged', 'tentative', 'stale', 'forged',
                        'unknown_meeting', 'unknown_attendee', 'cancelled', 'after_deadline', 'superseded',
                        'no_answer', 'malformed')),
    detail          TEXT NOT NULL DEFAULT '',
    received_at     TEXT NOT NULL,
    CONSTRAINT calendar_replies_message_unique UNIQUE (message_key)
);
CREATE INDEX calendar_replies_by_occurrence ON calendar_replies (occurrence_id, id);
CREATE INDEX calendar_replies_by_municipality ON calendar_replies (municipality_id, received_at);

-- Who is reading an organizer mailbox now: one poller at a time per mailbox (instances'
-- poll jobs can overlap when one runs long). Taken with a conditional upsert on an expired
-- lease, released at the end of the poll; a poller that dies leaves it to expire.
CREATE TABLE mailbox_leases (
    mailbox     TEXT PRIMARY KEY,
    lease_owner TEXT NOT NULL,
    lease_until TEXT NOT NULL
);
