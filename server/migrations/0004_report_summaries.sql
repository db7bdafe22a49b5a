-- Per branch, per month, per section: what the comparison reads instead of every visit.
-- Kept up to date in the same transaction as each approval. month is the visit's local
-- month (from the phone's started_at, which carries the branch's UTC offset);
-- section_key '' holds the visit totals.
CREATE TABLE branch_month_scores (
    branch_id   INTEGER NOT NULL REFERENCES branches(id),
    month       TEXT NOT NULL CHECK (month GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]'),
    section_key TEXT NOT NULL,
    visits      INTEGER NOT NULL DEFAULT 0,
    scored      INTEGER NOT NULL DEFAULT 0,
    score_sum   REAL NOT NULL DEFAULT 0,
    PRIMARY KEY (branch_id, month, section_key)
);
CREATE INDEX branch_month_scores_by_month ON branch_month_scores (month, branch_id);

-- Approved visits already stored (the demo, or data from before this migration).
INSERT INTO branch_month_scores (branch_id, month, section_key, visits, scored, score_sum)
SELECT branch_id, substr(started_at, 1, 7), '', count(*), count(score_total),
       coalesce(sum(score_total), 0)
FROM visits WHERE state = 'approved' AND started_at IS NOT NULL
GROUP BY branch_id, substr(started_at, 1, 7);

INSERT INTO branch_month_scores (branch_id, month, section_key, visits, scored, score_sum)
SELECT v.branch_id, substr(v.started_at, 1, 7), json_extract(s.value, '$.key'), count(*),
       count(json_extract(s.value, '$.score')), coalesce(sum(json_extract(s.value, '$.score')), 0)
FROM visits v, json_each(v.scores, '$.sections') s
WHERE v.state = 'approved' AND v.started_at IS NOT NULL AND v.scores IS NOT NULL
GROUP BY v.branch_id, substr(v.started_at, 1, 7), json_extract(s.value, '$.key');
