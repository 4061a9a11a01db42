-- Meetings held by other bodies (他機関主催, issue 18): the ward's council, the inter-municipal
-- liaison of the core centers. They are occurrences like the center's own (uid, status,
-- attendees, records, feeds, indicators) but their date and times are the host's, entered by
-- the coordinator: the planner never moves them, they take none of our rooms, and renkei sends
-- no invitation, update or cancellation for them.
--
-- `held_by` is the host's name as shown ('' = the center's own meeting); the host is an
-- organisation of the municipality when known; `place` is where it is held (free text, else
-- the host organisation). Entering or changing one is a publication of its own (a
-- `plan_runs` row with method 'held_entry' and its `publications` row), so a plan made before
-- it cannot be published over it.
ALTER TABLE occurrences ADD COLUMN held_by TEXT NOT NULL DEFAULT '';
ALTER TABLE occurrences ADD COLUMN host_organisation_id BIGINT REFERENCES organisations(id);
ALTER TABLE occurrences ADD COLUMN place TEXT NOT NULL DEFAULT '';
