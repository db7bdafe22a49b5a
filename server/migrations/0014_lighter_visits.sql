-- A lighter visit at rest (issue "Beyond one machine"): each fact stored once.
-- The request body as received repeated the answers, stamps and photo list that have
-- columns and tables of their own; its hash (content_hash) is what tells a retry from a
-- conflict, so the body itself goes. Scores become the compact record of
-- server/scoring.py: the server converts the rows it finds at start-up (migrate.py).
ALTER TABLE visits DROP COLUMN payload;

-- Histories are read by (entity, entity_id) in id order: the time adds nothing to the key.
DROP INDEX audit_log_by_entity;
CREATE INDEX audit_log_by_entity ON audit_log (entity, entity_id);

-- Visits are looked up by state (the review queue) through visits_approved_by_day, whose
-- key starts with the state: this index repeated it.
DROP INDEX visits_by_state;
