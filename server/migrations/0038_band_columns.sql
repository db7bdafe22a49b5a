-- The score-band rollup becomes one row per branch and month with the four bands as
-- columns (0 below 50, 1 from 50, 2 from 70, 3 from 85), as 0034 did for the weekday x
-- time-of-day slots: a comparison of 500 branches over 24 months summed 39,000 band rows
-- by band (8 ms at 100k visits); it now sums four columns of 12,000 rows (issue "Fast as
-- it grows", docs/performance.md). `visits` is the row's total, so an emptied row can
-- go as in the other rollups. Same numbers.
CREATE TABLE branch_month_band_counts (
    branch_id INTEGER NOT NULL REFERENCES branches(id),
    month     TEXT NOT NULL CHECK (month GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]'),
    visits    INTEGER NOT NULL DEFAULT 0,
    band_0    INTEGER NOT NULL DEFAULT 0,
    band_1    INTEGER NOT NULL DEFAULT 0,
    band_2    INTEGER NOT NULL DEFAULT 0,
    band_3    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (branch_id, month)
) WITHOUT ROWID;
INSERT INTO branch_month_band_counts (branch_id, month, visits, band_0, band_1, band_2, band_3)
SELECT branch_id, month, sum(visits),
    sum(CASE band WHEN 0 THEN visits ELSE 0 END), sum(CASE band WHEN 1 THEN visits ELSE 0 END),
    sum(CASE band WHEN 2 THEN visits ELSE 0 END), sum(CASE band WHEN 3 THEN visits ELSE 0 END)
FROM branch_month_bands GROUP BY branch_id, month HAVING sum(visits) > 0;
DROP TABLE branch_month_bands;
ALTER TABLE branch_month_band_counts RENAME TO branch_month_bands;
