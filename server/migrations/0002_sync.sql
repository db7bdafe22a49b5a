-- Sync: one visit (with its revisions) per assignment, enforced by the database, so two
-- phones or two tabs can never record two different visits for one assignment.
CREATE UNIQUE INDEX visits_one_per_assignment ON visits (assignment_id, revision);

-- Originals are kept only when the programme asks; their stored key, if any.
ALTER TABLE photos ADD COLUMN original_kept INTEGER NOT NULL DEFAULT 0;
