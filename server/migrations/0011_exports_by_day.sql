-- Exports page through approved visits in the order of their day at the branch (then
-- id), so an export of a period reads only that period's rows (issue "Fast as it
-- grows"). Replaces 0009's (state, id) index, which only the export read.
CREATE INDEX visits_approved_by_day ON visits (state, local_date, id);
DROP INDEX visits_approved_by_id;
