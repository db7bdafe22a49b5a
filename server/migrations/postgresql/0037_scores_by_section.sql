-- The monthly score rollup keyed by branch, then section, then month (see the SQLite one).
ALTER TABLE branch_month_scores DROP CONSTRAINT branch_month_scores_pkey;
ALTER TABLE branch_month_scores ADD PRIMARY KEY (branch_id, section_key, month);
