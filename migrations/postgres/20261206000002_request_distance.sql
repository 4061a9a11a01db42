-- A request's distance limit (Sendai: a trial bed 80 km away must not rank ahead of the hub's
-- room next door): no facility farther from the person's home than this many km; NULL: any.
ALTER TABLE placement_requests ADD COLUMN max_distance_km DOUBLE PRECISION;
