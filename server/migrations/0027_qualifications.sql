-- Qualifications (issue "The agency at scale"): named certificates a shopper holds
-- ("bank scenarios", "speaks French"), each until a day or for good; an assignment may
-- require one, and a shopper without it (or whose holding has run out) can neither be
-- given nor claim it.
CREATE TABLE qualifications (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_by  INTEGER REFERENCES users(id),
    created_at  TEXT NOT NULL
);
CREATE TABLE shopper_qualifications (
    user_id          INTEGER NOT NULL REFERENCES users(id),
    qualification_id INTEGER NOT NULL REFERENCES qualifications(id),
    expires_on       TEXT,
    granted_by       INTEGER REFERENCES users(id),
    granted_at       TEXT NOT NULL,
    PRIMARY KEY (user_id, qualification_id)
);
ALTER TABLE assignments ADD COLUMN qualification_id INTEGER REFERENCES qualifications(id);
