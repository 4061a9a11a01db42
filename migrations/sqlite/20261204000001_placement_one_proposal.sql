-- At most one active proposal per request, enforced by the database (issue 14).
--
-- Every proposal covers the request's stay from its first night (the API and the batch check
-- that its segments do), so two active proposals of one request would both have a hold that
-- starts on that night: a partial unique index on (request_id, from_night) over the active
-- statuses makes the second one fail with a unique violation, answered 409. Segments of one
-- proposal start on different nights, so a split stay is unaffected. The status transitions
-- themselves are conditional writes on the request row (src/store/placement.rs); this index is
-- the backstop that holds even if a code path forgot one.
--
-- A database written before this fix may hold a request in two active proposals (issue 14);
-- the index then cannot be built and the migration stops, on purpose: which bed the person is
-- really in is for the hub to decide. Find them with
--   SELECT request_id, from_night, COUNT(*) FROM placement_holds
--   WHERE status IN ('held', 'accepted', 'placed') GROUP BY request_id, from_night HAVING COUNT(*) > 1;
-- and withdraw the wrong holds (status 'withdrawn', their bed_nights rows deleted) first.
CREATE UNIQUE INDEX placement_holds_one_active_proposal
    ON placement_holds (request_id, from_night)
    WHERE status IN ('held', 'accepted', 'placed');
