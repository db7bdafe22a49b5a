-- visits_by_branch_local_date (branch, day) is covered by visits_by_branch_state_day
-- (branch, state, day, score) for every read but one, the recount of a branch-month's
-- appeals, which now names every state so it reads that index too. A visit row
-- carried it at 23 bytes on SQLite and 37 on PostgreSQL (2,056 bytes a visit there at
-- 1M, over the 2 KB of issue "Beyond one machine"), and every visit write updated it.
DROP INDEX visits_by_branch_local_date;
