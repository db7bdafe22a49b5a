-- Appeals (issue "Closing the loop for owners and chains"): an owner or manager contests
-- an approved visit within the programme's appeal period, with a category and a text; a
-- reviewer decides it (upheld, partly upheld, rejected) with a reason, and may correct
-- answers or void the visit in the same transaction. One open appeal per visit.
CREATE TABLE appeals (
    id         INTEGER PRIMARY KEY,
    visit_id   INTEGER NOT NULL REFERENCES visits(id),
    category   TEXT NOT NULL
               CHECK (category IN ('fact_wrong', 'scenario_not_followed', 'staff_not_on_duty', 'other')),
    text       TEXT NOT NULL,
    state      TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'decided')),
    decision   TEXT CHECK (decision IS NULL OR decision IN ('upheld', 'partly_upheld', 'rejected')),
    reason     TEXT,
    voided     INTEGER NOT NULL DEFAULT 0,
    opened_by  INTEGER NOT NULL REFERENCES users(id),
    opened_at  TEXT NOT NULL,
    decided_by INTEGER REFERENCES users(id),
    decided_at TEXT
);
CREATE UNIQUE INDEX appeals_one_open ON appeals (visit_id) WHERE state = 'open';
CREATE INDEX appeals_by_visit ON appeals (visit_id, id);
CREATE INDEX appeals_by_state ON appeals (state, opened_at);
