-- Action plans (issue "Closing the loop for owners and chains"): a programme may open a
-- plan by itself when an approved visit scores a section below its target; such a plan
-- has no author (created_by is NULL) and keeps the score and target that opened it. A
-- plan may carry one evidence photo (evidence_key: the blob key of its derived sizes in
-- the photo store, as photos.blob_key). SQLite cannot drop NOT NULL in place: the table
-- is made again with every row, in this migration's transaction.
CREATE TABLE action_plans_new (
    id             INTEGER PRIMARY KEY,
    branch_id      INTEGER NOT NULL REFERENCES branches(id),
    visit_id       INTEGER REFERENCES visits(id),
    section_key    TEXT,
    text           TEXT NOT NULL,
    responsible    TEXT NOT NULL DEFAULT '',
    due_date       TEXT,
    state          TEXT NOT NULL DEFAULT 'open'
                   CHECK (state IN ('open', 'in_progress', 'done', 'verified', 'cancelled')),
    created_by     INTEGER REFERENCES users(id),
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    done_at        TEXT,
    verified_at    TEXT,
    verified_by    INTEGER REFERENCES users(id),
    return_note    TEXT,
    opened_score   REAL,
    opened_target  REAL,
    evidence_key   TEXT CHECK (evidence_key IS NULL OR length(evidence_key) = 64),
    evidence_at    TEXT
);
INSERT INTO action_plans_new (id, branch_id, visit_id, section_key, text, responsible,
    due_date, state, created_by, created_at, updated_at, done_at, verified_at, verified_by,
    return_note)
SELECT id, branch_id, visit_id, section_key, text, responsible, due_date, state,
    created_by, created_at, updated_at, done_at, verified_at, verified_by, return_note
FROM action_plans;
DROP TABLE action_plans;
ALTER TABLE action_plans_new RENAME TO action_plans;
CREATE INDEX action_plans_by_branch ON action_plans (branch_id, state, due_date);
