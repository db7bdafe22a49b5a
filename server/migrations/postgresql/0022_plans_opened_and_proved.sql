-- Action plans (issue "Closing the loop for owners and chains"): a programme may open a
-- plan by itself when an approved visit scores a section below its target; such a plan
-- has no author (created_by is NULL) and keeps the score and target that opened it. A
-- plan may carry one evidence photo (evidence_key: the blob key of its derived sizes in
-- the photo store, as photos.blob_key).
ALTER TABLE action_plans ALTER COLUMN created_by DROP NOT NULL;
ALTER TABLE action_plans ADD COLUMN opened_score DOUBLE PRECISION;
ALTER TABLE action_plans ADD COLUMN opened_target DOUBLE PRECISION;
ALTER TABLE action_plans ADD COLUMN evidence_key TEXT
    CHECK (evidence_key IS NULL OR length(evidence_key) = 64);
ALTER TABLE action_plans ADD COLUMN evidence_at TEXT;
