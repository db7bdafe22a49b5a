-- The monthly score rollup keyed by branch, then section, then month (was branch, month,
-- section). A comparison sums the months of every section of 500 branches: in the old
-- order each branch's rows came month by month and SQLite sorted them all again for its
-- GROUP BY (branch, section); in this order they come grouped already, and the reads of
-- one section (the totals: section '') are one range of the key per branch (issue "Fast
-- as it grows": 34 -> 16 ms for 24 months of 500 branches, docs/performance.md). Same
-- columns, same rows.
CREATE TABLE branch_month_scores_by_section (
    branch_id   INTEGER NOT NULL REFERENCES branches(id),
    month       TEXT NOT NULL CHECK (month GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]'),
    section_key TEXT NOT NULL,
    visits      INTEGER NOT NULL DEFAULT 0,
    scored      INTEGER NOT NULL DEFAULT 0,
    score_sum   REAL NOT NULL DEFAULT 0,
    PRIMARY KEY (branch_id, section_key, month)
) WITHOUT ROWID;
INSERT INTO branch_month_scores_by_section (branch_id, month, section_key, visits, scored, score_sum)
SELECT branch_id, month, section_key, visits, scored, score_sum FROM branch_month_scores;
DROP TABLE branch_month_scores;
ALTER TABLE branch_month_scores_by_section RENAME TO branch_month_scores;
CREATE INDEX branch_month_scores_by_month ON branch_month_scores (month, branch_id);
