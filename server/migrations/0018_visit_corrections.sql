-- Reviewer corrections (issue "Closing the loop for owners and chains"): a reviewer
-- changes an answer or its comment without sending the visit back, with a reason. The
-- visit row holds the corrected answers (so every report reads them); each change is a
-- row here with the answer before and after (JSON, or null for none), so the shopper's
-- original stays and staff can see the difference.
CREATE TABLE visit_corrections (
    id           INTEGER PRIMARY KEY,
    visit_id     INTEGER NOT NULL REFERENCES visits(id),
    question_key TEXT NOT NULL,
    before       TEXT CHECK (before IS NULL OR json_valid(before)),
    after        TEXT CHECK (after IS NULL OR json_valid(after)),
    reason       TEXT NOT NULL,
    corrected_by INTEGER NOT NULL REFERENCES users(id),
    corrected_at TEXT NOT NULL
);
CREATE INDEX visit_corrections_by_visit ON visit_corrections (visit_id, id);
