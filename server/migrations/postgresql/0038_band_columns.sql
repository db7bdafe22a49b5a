-- The score-band rollup as one row per branch and month (see the SQLite one).
CREATE TABLE branch_month_band_counts (
    branch_id BIGINT NOT NULL REFERENCES branches(id),
    month     TEXT NOT NULL CHECK (month ~ '^[0-9]{4}-[0-9]{2}$'),
    visits    INTEGER NOT NULL DEFAULT 0,
    band_0    INTEGER NOT NULL DEFAULT 0,
    band_1    INTEGER NOT NULL DEFAULT 0,
    band_2    INTEGER NOT NULL DEFAULT 0,
    band_3    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (branch_id, month)
);
INSERT INTO branch_month_band_counts (branch_id, month, visits, band_0, band_1, band_2, band_3)
SELECT branch_id, month, sum(visits),
    sum(CASE band WHEN 0 THEN visits ELSE 0 END), sum(CASE band WHEN 1 THEN visits ELSE 0 END),
    sum(CASE band WHEN 2 THEN visits ELSE 0 END), sum(CASE band WHEN 3 THEN visits ELSE 0 END)
FROM branch_month_bands GROUP BY branch_id, month HAVING sum(visits) > 0;
DROP TABLE branch_month_bands;
ALTER TABLE branch_month_band_counts RENAME TO branch_month_bands;
