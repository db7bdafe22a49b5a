-- One index of visits fewer (see the SQLite one).
DROP INDEX visits_by_branch_local_date;
