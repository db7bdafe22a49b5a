-- The shopper roster (issue "The agency at scale"): a shopper's profile (phone, the
-- languages they speak as codes "id,en", home city and region with an optional point for
-- sorting visits by distance, a note for the agency) and their state: an applicant, an
-- active shopper, paused, or left. Only an active shopper (or one with no profile yet) is
-- given or claims visits.
CREATE TABLE shopper_profiles (
    user_id     BIGINT PRIMARY KEY REFERENCES users(id),
    state       TEXT NOT NULL DEFAULT 'active'
                CHECK (state IN ('applicant', 'active', 'paused', 'left')),
    phone       TEXT,
    languages   TEXT,
    home_city   TEXT,
    home_region TEXT,
    home_lat    DOUBLE PRECISION CHECK (home_lat IS NULL OR home_lat BETWEEN -90 AND 90),
    home_lon    DOUBLE PRECISION CHECK (home_lon IS NULL OR home_lon BETWEEN -180 AND 180),
    note        TEXT,
    updated_at  TEXT NOT NULL
);
CREATE INDEX shopper_profiles_by_state ON shopper_profiles (state, home_region);
CREATE INDEX users_by_role_name ON users (role, name);
