-- Versions of the placement state, for the in-memory search index of each service instance
-- (src/store/placement_index.rs). One row per municipality and chunk: 'static' for facilities,
-- rooms and beds; 'YYYY-MM' for the bed-nights of a month. Triggers bump the version in the
-- same transaction as the change, so no write path can forget it, and an instance that read
-- version v before reading the rows can never serve rows older than v.
CREATE TABLE placement_versions (
    municipality_id BIGINT NOT NULL REFERENCES municipalities(id),
    chunk           TEXT NOT NULL,
    version         BIGINT NOT NULL,
    CONSTRAINT placement_versions_pkey PRIMARY KEY (municipality_id, chunk)
);

CREATE FUNCTION placement_bump_version(m BIGINT, c TEXT) RETURNS void AS $$
BEGIN
    INSERT INTO placement_versions (municipality_id, chunk, version)
    VALUES (m, c, 1)
    ON CONFLICT (municipality_id, chunk)
    DO UPDATE SET version = placement_versions.version + 1;
END;
$$ LANGUAGE plpgsql;

CREATE FUNCTION bed_nights_version() RETURNS trigger AS $$
BEGIN
    IF TG_OP <> 'DELETE' THEN
        PERFORM placement_bump_version(NEW.municipality_id, left(NEW.night, 7));
    END IF;
    IF TG_OP <> 'INSERT' AND (TG_OP = 'DELETE' OR left(OLD.night, 7) <> left(NEW.night, 7)) THEN
        PERFORM placement_bump_version(OLD.municipality_id, left(OLD.night, 7));
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER bed_nights_version AFTER INSERT OR UPDATE OR DELETE ON bed_nights
    FOR EACH ROW EXECUTE FUNCTION bed_nights_version();

CREATE FUNCTION placement_static_version() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM placement_bump_version(OLD.municipality_id, 'static');
    ELSE
        PERFORM placement_bump_version(NEW.municipality_id, 'static');
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER placement_facilities_version AFTER INSERT OR UPDATE OR DELETE ON placement_facilities
    FOR EACH ROW EXECUTE FUNCTION placement_static_version();
CREATE TRIGGER placement_rooms_version AFTER INSERT OR UPDATE OR DELETE ON placement_rooms
    FOR EACH ROW EXECUTE FUNCTION placement_static_version();
CREATE TRIGGER beds_version AFTER INSERT OR UPDATE OR DELETE ON beds
    FOR EACH ROW EXECUTE FUNCTION placement_static_version();
