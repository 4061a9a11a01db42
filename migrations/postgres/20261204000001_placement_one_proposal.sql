-- At most one active proposal per request, enforced by the database (issue 14).
--
-- Every proposal covers the request's stay from its first night (the API and the batch check
-- that its segments do), so two active proposals of one request would both have a hold that
-- starts on that night: a partial unique index on (request_id, from_night) over the active
-- statuses makes the second one fail with a unique violation, answered 409. Segments of one
-- proposal start on different nights, so a split stay is unaffected. The status transitions
-- themselves are conditional writes on the request row (src/store/placement.rs); this index is
-- the backstop that holds even if a code path forgot one.
CREATE UNIQUE INDEX placement_holds_one_active_proposal
    ON placement_holds (request_id, from_night)
    WHERE status IN ('held', 'accepted', 'placed');
