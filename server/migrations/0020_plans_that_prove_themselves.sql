-- Action plans that prove themselves (issue "Closing the loop for owners and chains"):
-- open → in progress → done → verified (the chain's manager signs it off, or returns it
-- to in progress with a note). When it was marked done, verified and by whom, and the
-- manager's note are kept. SQLite cannot change a CHECK constraint in place: the table
-- is made again with every row, in this migration's transaction.
CREATE TABLE action_plans_new (
    id           INTEGER PRIMARY KEY,
    branch_id    INTEGER NOT NULL REFERENCES branches(id),
    visit_id     INTEGER REFERENCES visits(id),
    section_key  TEXT,
    text         TEXT NOT NULL,
    responsible  TEXT NOT NULL DEFAULT '',
    due_date     TEXT,
    state        TEXT NOT NULL DEFAULT 'open'
                 CHECK (state IN ('open', 'in_progress', 'done', 'verified', 'cancelled')),
    created_by   INTEGER NOT NULL REFERENCES users(id),
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    done_at      TEXT,
    verified_at  TEXT,
    verified_by  INTEGER REFERENCES users(id),
    return_note  TEXT
);
INSERT INTO action_plans_new (id, branch_id, visit_id, section_key, text, responsible,
    due_date, state, created_by, created_at, updated_at, done_at)
SELECT id, branch_id, visit_id, section_key, text, responsible, due_date, state,
    created_by, created_at, updated_at, CASE WHEN state = 'done' THEN updated_at END
FROM action_plans;
DROP TABLE action_plans;
ALTER TABLE action_plans_new RENAME TO action_plans;
CREATE INDEX action_plans_by_branch ON action_plans (branch_id, state, due_date);
