-- Two lookups that grew with the number of visits (benchmarks/pages.py, 10,000 against
-- 100,000 visits): a branch's approved visits of a period (the share on target, the list
-- of every visit) took the index of all approved visits by day, and a shopper's newest
-- visits (the app's history) sorted every visit of the shopper.
CREATE INDEX visits_by_branch_state_day ON visits (branch_id, state, local_date);
CREATE INDEX visits_by_shopper_started ON visits (shopper_id, started_utc);
