-- Background jobs (issue "Beyond one machine"): a queue kept in the database, run by the
-- server processes or by `visitscore worker`. A job is queued, then running under a
-- lease (a worker that dies loses it and another takes the job over), then done, failed
-- (after max_attempts) or expired (its file removed after the keeping period).
CREATE TABLE jobs (
    id           INTEGER PRIMARY KEY,
    kind         TEXT NOT NULL,
    params       TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(params)),
    -- what the job makes, for reuse: the same fingerprint and data stamp give the same file
    fingerprint  TEXT NOT NULL DEFAULT '',
    state        TEXT NOT NULL DEFAULT 'queued'
                 CHECK (state IN ('queued', 'running', 'done', 'failed', 'expired')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL DEFAULT 3 CHECK (max_attempts >= 1),
    run_after    TEXT NOT NULL,
    worker       TEXT,
    lease_until  TEXT,
    done_count   INTEGER NOT NULL DEFAULT 0,
    total_count  INTEGER,
    stamp        TEXT,
    result       TEXT CHECK (result IS NULL OR json_valid(result)),
    error        TEXT,
    created_by   INTEGER REFERENCES users(id),
    created_at   TEXT NOT NULL,
    started_at   TEXT,
    finished_at  TEXT
);
CREATE INDEX jobs_waiting ON jobs (state, run_after);
CREATE INDEX jobs_by_fingerprint ON jobs (fingerprint, id);
