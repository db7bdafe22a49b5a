-- Visitscore initial schema. Times are ISO 8601 text; server times in UTC.
-- JSON columns are checked with json_valid so a bad write fails loudly.

CREATE TABLE chains (
    id          INTEGER PRIMARY KEY,
    code        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    created_at  TEXT NOT NULL
);

CREATE TABLE branches (
    id          INTEGER PRIMARY KEY,
    chain_id    INTEGER NOT NULL REFERENCES chains(id),
    code        TEXT NOT NULL,
    name        TEXT NOT NULL,
    region      TEXT NOT NULL,
    city        TEXT NOT NULL DEFAULT '',
    address     TEXT NOT NULL DEFAULT '',
    latitude    REAL CHECK (latitude IS NULL OR latitude BETWEEN -90 AND 90),
    longitude   REAL CHECK (longitude IS NULL OR longitude BETWEEN -180 AND 180),
    timezone    TEXT NOT NULL DEFAULT 'UTC',
    active      INTEGER NOT NULL DEFAULT 1,
    created_at  TEXT NOT NULL,
    UNIQUE (chain_id, code)
);
CREATE INDEX branches_by_chain ON branches (chain_id, region);

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE COLLATE NOCASE,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'reviewer', 'manager', 'owner', 'shopper')),
    password_hash TEXT NOT NULL,
    locale        TEXT CHECK (locale IS NULL OR locale IN ('en', 'id', 'fr')),
    active        INTEGER NOT NULL DEFAULT 1,
    created_at    TEXT NOT NULL
);

-- An owner holds one or more branches; a manager heads one or more chains.
CREATE TABLE branch_owners (
    user_id   INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    branch_id INTEGER NOT NULL REFERENCES branches(id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, branch_id)
);
CREATE INDEX branch_owners_by_branch ON branch_owners (branch_id);

CREATE TABLE chain_managers (
    user_id  INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    chain_id INTEGER NOT NULL REFERENCES chains(id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, chain_id)
);

-- Server-side sessions: the cookie holds a random token, the table its SHA-256.
CREATE TABLE sessions (
    token_hash   TEXT PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    user_agent   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_by_user ON sessions (user_id);

-- Failed logins, for rate limiting per account and per address across workers.
CREATE TABLE login_failures (
    id      INTEGER PRIMARY KEY,
    email   TEXT NOT NULL COLLATE NOCASE,
    address TEXT NOT NULL,
    at      TEXT NOT NULL
);
CREATE INDEX login_failures_by_email ON login_failures (email, at);
CREATE INDEX login_failures_by_address ON login_failures (address, at);

CREATE TABLE questionnaires (
    id         TEXT PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 64),
    created_at TEXT NOT NULL
);

-- A version is a draft until published_at is set; from then on it never changes.
CREATE TABLE questionnaire_versions (
    questionnaire_id TEXT NOT NULL REFERENCES questionnaires(id),
    version          INTEGER NOT NULL CHECK (version >= 1),
    definition       TEXT NOT NULL CHECK (json_valid(definition)),
    created_at       TEXT NOT NULL,
    published_at     TEXT,
    PRIMARY KEY (questionnaire_id, version)
);

CREATE TRIGGER questionnaire_versions_published_immutable
BEFORE UPDATE ON questionnaire_versions
WHEN OLD.published_at IS NOT NULL
BEGIN
    SELECT RAISE(ABORT, 'published questionnaire versions are immutable');
END;

CREATE TRIGGER questionnaire_versions_published_kept
BEFORE DELETE ON questionnaire_versions
WHEN OLD.published_at IS NOT NULL
BEGIN
    SELECT RAISE(ABORT, 'published questionnaire versions are immutable');
END;

-- window_start / window_end are local dates in the branch's time zone.
CREATE TABLE assignments (
    id                    INTEGER PRIMARY KEY,
    branch_id             INTEGER NOT NULL REFERENCES branches(id),
    shopper_id            INTEGER REFERENCES users(id),
    questionnaire_id      TEXT NOT NULL,
    questionnaire_version INTEGER NOT NULL,
    window_start          TEXT NOT NULL,
    window_end            TEXT NOT NULL,
    scenario              TEXT NOT NULL DEFAULT '',
    state                 TEXT NOT NULL DEFAULT 'open'
                          CHECK (state IN ('open', 'done', 'cancelled')),
    created_by            INTEGER REFERENCES users(id),
    created_at            TEXT NOT NULL,
    updated_at            TEXT NOT NULL,
    CHECK (window_end >= window_start),
    FOREIGN KEY (questionnaire_id, questionnaire_version)
        REFERENCES questionnaire_versions (questionnaire_id, version)
);
CREATE INDEX assignments_by_shopper ON assignments (shopper_id, state);
CREATE INDEX assignments_by_branch ON assignments (branch_id, window_start);

-- One row per revision of a visit. The app's UUID plus revision is the identity;
-- content_hash (SHA-256 of the canonical payload) tells a retry from a conflict.
CREATE TABLE visits (
    id                    INTEGER PRIMARY KEY,
    visit_uuid            TEXT NOT NULL,
    revision              INTEGER NOT NULL CHECK (revision >= 1),
    assignment_id         INTEGER NOT NULL REFERENCES assignments(id),
    branch_id             INTEGER NOT NULL REFERENCES branches(id),
    shopper_id            INTEGER NOT NULL REFERENCES users(id),
    questionnaire_id      TEXT NOT NULL,
    questionnaire_version INTEGER NOT NULL,
    state                 TEXT NOT NULL
                          CHECK (state IN ('incomplete', 'submitted', 'approved', 'returned', 'rejected')),
    content_hash          TEXT NOT NULL,
    payload               TEXT NOT NULL CHECK (json_valid(payload)),
    started_at            TEXT,
    ended_at              TEXT,
    started_utc           TEXT,
    received_at           TEXT NOT NULL,
    submitted_at          TEXT,
    stamps                TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(stamps)),
    answers               TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(answers)),
    comment               TEXT NOT NULL DEFAULT '',
    geo_lat               REAL,
    geo_lon               REAL,
    geo_accuracy_m        REAL,
    score_total           REAL CHECK (score_total IS NULL OR score_total BETWEEN 0 AND 100),
    scores                TEXT CHECK (scores IS NULL OR json_valid(scores)),
    review_note           TEXT,
    updated_at            TEXT NOT NULL,
    UNIQUE (visit_uuid, revision),
    FOREIGN KEY (questionnaire_id, questionnaire_version)
        REFERENCES questionnaire_versions (questionnaire_id, version)
);
CREATE INDEX visits_by_branch ON visits (branch_id, state, started_utc);
CREATE INDEX visits_by_shopper ON visits (shopper_id, state);
CREATE INDEX visits_by_state ON visits (state, submitted_at);

-- Photos are write-once, keyed by the app's UUID; bytes arrive after the manifest.
CREATE TABLE photos (
    id           TEXT PRIMARY KEY,
    visit_uuid   TEXT NOT NULL,
    sha256       TEXT NOT NULL CHECK (length(sha256) = 64),
    bytes        INTEGER NOT NULL CHECK (bytes > 0),
    content_type TEXT NOT NULL,
    received_at  TEXT,
    blob_key     TEXT,
    width        INTEGER,
    height       INTEGER,
    captured_at  TEXT,
    created_at   TEXT NOT NULL
);
CREATE INDEX photos_by_visit ON photos (visit_uuid);
CREATE INDEX photos_by_hash ON photos (sha256);

-- Each revision's manifest: which photos it lists, for which question.
CREATE TABLE visit_photos (
    visit_id     INTEGER NOT NULL REFERENCES visits(id) ON DELETE CASCADE,
    photo_id     TEXT NOT NULL REFERENCES photos(id),
    question_key TEXT,
    PRIMARY KEY (visit_id, photo_id)
);

CREATE TABLE self_assessments (
    id                    INTEGER PRIMARY KEY,
    branch_id             INTEGER NOT NULL REFERENCES branches(id),
    author_id             INTEGER NOT NULL REFERENCES users(id),
    questionnaire_id      TEXT NOT NULL,
    questionnaire_version INTEGER NOT NULL,
    answers               TEXT NOT NULL CHECK (json_valid(answers)),
    score_total           REAL,
    scores                TEXT CHECK (scores IS NULL OR json_valid(scores)),
    created_at            TEXT NOT NULL,
    FOREIGN KEY (questionnaire_id, questionnaire_version)
        REFERENCES questionnaire_versions (questionnaire_id, version)
);
CREATE INDEX self_assessments_by_branch ON self_assessments (branch_id, created_at);

CREATE TABLE action_plans (
    id           INTEGER PRIMARY KEY,
    branch_id    INTEGER NOT NULL REFERENCES branches(id),
    visit_id     INTEGER REFERENCES visits(id),
    section_key  TEXT,
    text         TEXT NOT NULL,
    responsible  TEXT NOT NULL DEFAULT '',
    due_date     TEXT,
    state        TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'done', 'cancelled')),
    created_by   INTEGER NOT NULL REFERENCES users(id),
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);
CREATE INDEX action_plans_by_branch ON action_plans (branch_id, state, due_date);

-- Every change of state, written in the same transaction as the change.
CREATE TABLE audit_log (
    id        INTEGER PRIMARY KEY,
    at        TEXT NOT NULL,
    actor_id  INTEGER REFERENCES users(id),
    action    TEXT NOT NULL,
    entity    TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    details   TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(details))
);
CREATE INDEX audit_log_by_entity ON audit_log (entity, entity_id, at);
