-- Case-load management (計画相談の件数管理, issue 18). Kumamoto: 「計画相談の件数制限
-- ・西圏域以外 事業所あたり50件まで ・西圏域のみ…75件まで」.
--
-- caseloads: an organisation's current planning-consultation cases and its specialities
-- (comma-separated tags such as child, mental, medical_care); no row means 0 cases and none.
-- An assignment adds one case with a conditional write (`cases + 1 <= cap`), so two service
-- instances can never take an office over its cap.
-- caseload_caps: the cap per ward of the organisation, the municipality's default under
-- ward '' (no rows at all: 50).
-- referrals: new people who need a planning-consultation office (a code or initials only,
-- never a name). status open -> assigned by a conditional write on status = 'open'; manual = 1
-- when a coordinator chose the office by hand.
CREATE TABLE caseloads (
    organisation_id INTEGER PRIMARY KEY REFERENCES organisations(id) ON DELETE CASCADE,
    municipality_id INTEGER NOT NULL REFERENCES municipalities(id),
    cases           INTEGER NOT NULL DEFAULT 0 CHECK (cases >= 0),
    specialities    TEXT NOT NULL DEFAULT '',
    updated_at      TEXT NOT NULL
);
CREATE INDEX caseloads_by_municipality ON caseloads (municipality_id);

CREATE TABLE caseload_caps (
    municipality_id INTEGER NOT NULL REFERENCES municipalities(id),
    ward            TEXT NOT NULL,
    cap             INTEGER NOT NULL CHECK (cap >= 0),
    PRIMARY KEY (municipality_id, ward)
);

CREATE TABLE referrals (
    id                 INTEGER PRIMARY KEY,
    municipality_id    INTEGER NOT NULL REFERENCES municipalities(id),
    code               TEXT NOT NULL,
    ward               TEXT NOT NULL DEFAULT '',
    needs              TEXT NOT NULL DEFAULT '',
    previous_office_id INTEGER REFERENCES organisations(id) ON DELETE SET NULL,
    status             TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'assigned')),
    office_id          INTEGER REFERENCES organisations(id),
    manual             INTEGER NOT NULL DEFAULT 0,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL,
    CHECK ((status = 'open') = (office_id IS NULL)),
    CONSTRAINT referrals_code_unique UNIQUE (municipality_id, code)
);
CREATE INDEX referrals_by_status ON referrals (municipality_id, status);
