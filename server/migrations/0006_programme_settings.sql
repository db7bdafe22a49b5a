-- Programme-wide settings an admin changes in the browser. A missing row means the
-- server's configured default (e.g. VISITSCORE_REVIEW_REQUIRED).
CREATE TABLE programme_settings (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL CHECK (json_valid(value)),
    updated_at TEXT NOT NULL,
    updated_by INTEGER REFERENCES users(id)
);
