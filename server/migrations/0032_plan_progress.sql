-- A plan's mean since it was made (issue "Fast as it grows"): the approved visits started
-- since, that scored its section, and the sum of those scores, kept on the plan's row by
-- the transaction that approves (or withdraws, or corrects) a visit, as the monthly
-- rollups are. Read as they are: a branch page no longer reads every visit of the plan's
-- first months. The upgrade counts them from the visits (server/migrate.py).
ALTER TABLE action_plans ADD COLUMN since_scored INTEGER NOT NULL DEFAULT 0;
ALTER TABLE action_plans ADD COLUMN since_score_sum REAL NOT NULL DEFAULT 0;
