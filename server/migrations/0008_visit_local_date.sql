-- The day each visit belongs to, in its branch's time zone, computed once when the
-- visit is stored (server/zones.py). Filled for existing visits by migrate_all, which
-- then recounts the monthly summaries by it.
ALTER TABLE visits ADD COLUMN local_date TEXT;
CREATE INDEX visits_by_branch_local_date ON visits (branch_id, local_date);
-- Start-up looks for visits still without a day (none, once filled): this stays empty.
CREATE INDEX visits_without_local_date ON visits (id) WHERE local_date IS NULL;
