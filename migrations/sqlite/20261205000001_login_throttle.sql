-- Login attempts are throttled per (username, client address), not per username (issue 15).
--
-- Counting failures per username alone let anyone lock a known account out: five wrong
-- passwords from anywhere refused the owner's right one. Now each attempt records the client
-- address it came from (the peer, or X-Forwarded-For behind a trusted proxy), and the delay an
-- address must wait grows with the failures of that address (for that username, and for all
-- usernames together), so a stranger only ever slows down their own address. Rows written
-- before this migration have no address ('') and count for no address.
ALTER TABLE login_attempts ADD COLUMN address TEXT NOT NULL DEFAULT '';
CREATE INDEX login_attempts_by_address ON login_attempts (address, at);
CREATE INDEX login_attempts_by_username_address ON login_attempts (username, address, at);
