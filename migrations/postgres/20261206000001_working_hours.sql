-- People's hours and load, per person and per municipality (issue 13).
--
-- A person's working hours use the venues' opening-hours text ("mon-fri 08:30-17:30;
-- sat 09:00-12:00"); '' means the municipality's staff hours. A person's daily limits are
-- NULL where the municipality's apply. The municipality's staff hours default to the
-- centers' contract day (Meguro: Mon-Fri 8:30-17:30); its minimum notice and daily limits are
-- NULL where the service's configuration applies (RENKEI_MIN_NOTICE_DAYS,
-- RENKEI_MAX_MEETINGS_PER_DAY, RENKEI_MAX_MEETING_HOURS_PER_DAY).
ALTER TABLE people ADD COLUMN working_hours TEXT NOT NULL DEFAULT '';
ALTER TABLE people ADD COLUMN max_meetings_per_day INTEGER;
ALTER TABLE people ADD COLUMN max_minutes_per_day INTEGER;
ALTER TABLE municipalities ADD COLUMN staff_hours TEXT NOT NULL DEFAULT 'mon-fri 08:30-17:30';
ALTER TABLE municipalities ADD COLUMN min_notice_days INTEGER;
ALTER TABLE municipalities ADD COLUMN max_meetings_per_day INTEGER;
ALTER TABLE municipalities ADD COLUMN max_minutes_per_day INTEGER;
