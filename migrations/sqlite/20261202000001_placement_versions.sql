-- Versions of the placement state, for the in-memory search index of each service instance
-- (src/store/placement_index.rs). One row per municipality and chunk: 'static' for facilities,
-- rooms and beds; 'YYYY-MM' for the bed-nights of a month. Triggers bump the version in the
-- same transaction as the change, so no write path can forget it, and an instance that read
-- version v before reading the rows can never serve rows older than v.
CREATE TABLE placement_versions (
    municipality_id INTEGER NOT NULL REFERENCES municipalities(id),
    chunk           TEXT NOT NULL,
    version         INTEGER NOT NULL,
    CONSTRAINT placement_versions_pkey PRIMARY KEY (municipality_id, chunk)
);

CREATE TRIGGER bed_nights_insert_version AFTER INSERT ON bed_nights BEGIN
    INSERT INTO placement_versions (municipality_id, chunk, version)
    VALUES (NEW.municipality_id, substr(NEW.night, 1, 7), 1)
    ON CONFLICT (municipality_id, chunk) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER bed_nights_update_version AFTER UPDATE ON bed_nights BEGIN
    INSERT INTO placement_versions (municipality_id, chunk, version)
    VALUES (NEW.municipality_id, substr(NEW.night, 1, 7), 1)
    ON CONFLICT (municipality_id, chunk) DO UPDATE SET version = version + 1;
    INSERT INTO placement_versions (municipality_id, chunk, version)
    VALUES (OLD.municipality_id, substr(OLD.night, 1, 7), 1)
    ON CONFLICT (municipality_id, chunk) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER bed_nights_delete_version AFTER DELETE ON bed_nights BEGIN
    INSERT INTO placement_versions (municipality_id, chunk, version)
    VALUES (OLD.municipality_id, substr(OLD.night, 1, 7), 1)
    ON CONFLICT (municipality_id, chunk) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER placement_facilities_insert_version AFTER INSERT ON placement_facilities BEGIN
    INSERT INTO placement_versions (municipality_id, chunk, version)
    VALUES (NEW.municipality_id, 'static', 1)
    ON CONFLICT (municipality_id, chunk) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER placement_facilities_update_version AFTER UPDATE ON placement_facilities BEGIN
    INSERT INTO placement_versions (municipality_id, chunk, version)
    VALUES (NEW.municipality_id, 'static', 1)
    ON CONFLICT (municipality_id, chunk) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER placement_facilities_delete_version AFTER DELETE ON placement_facilities BEGIN
    INSERT INTO placement_versions (municipality_id, chunk, version)
    VALUES (OLD.municipality_id, 'static', 1)
    ON CONFLICT (municipality_id, chunk) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER placement_rooms_insert_version AFTER INSERT ON placement_rooms BEGIN
    INSERT INTO placement_versions (municipality_id, chunk, version)
    VALUES (NEW.municipality_id, 'static', 1)
    ON CONFLICT (municipality_id, chunk) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER placement_rooms_update_version AFTER UPDATE ON placement_rooms BEGIN
    INSERT INTO placement_versions (municipality_id, chunk, version)
    VALUES (NEW.municipality_id, 'static', 1)
    ON CONFLICT (municipality_id, chunk) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER placement_rooms_delete_version AFTER DELETE ON placement_rooms BEGIN
    INSERT INTO placement_versions (municipality_id, chunk, version)
    VALUES (OLD.municipality_id, 'static', 1)
    ON CONFLICT (municipality_id, chunk) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER beds_insert_version AFTER INSERT ON beds BEGIN
    INSERT INTO placement_versions (municipality_id, chunk, version)
    VALUES (NEW.municipality_id, 'static', 1)
    ON CONFLICT (municipality_id, chunk) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER beds_update_version AFTER UPDATE ON beds BEGIN
    INSERT INTO placement_versions (municipality_id, chunk, version)
    VALUES (NEW.municipality_id, 'static', 1)
    ON CONFLICT (municipality_id, chunk) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER beds_delete_version AFTER DELETE ON beds BEGIN
    INSERT INTO placement_versions (municipality_id, chunk, version)
    VALUES (OLD.municipality_id, 'static', 1)
    ON CONFLICT (municipality_id, chunk) DO UPDATE SET version = version + 1;
END;
