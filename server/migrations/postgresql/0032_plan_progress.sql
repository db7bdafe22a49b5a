-- A plan's mean since it was made, kept on its row at approval (see the SQLite migration).
ALTER TABLE action_plans ADD COLUMN since_scored BIGINT NOT NULL DEFAULT 0;
ALTER TABLE action_plans ADD COLUMN since_score_sum DOUBLE PRECISION NOT NULL DEFAULT 0;
