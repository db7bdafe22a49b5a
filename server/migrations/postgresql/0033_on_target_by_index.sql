-- A branch's share on target read from its index by state and day (see the SQLite one).
DROP INDEX visits_by_branch_state_day;
CREATE INDEX visits_by_branch_state_day ON visits (branch_id, state, local_date, score_total);
