-- Appeals by the month of the visit they contest (see the SQLite one).
CREATE TABLE branch_month_appeals (
    branch_id BIGINT NOT NULL REFERENCES branches(id),
    month     TEXT NOT NULL,
    appealed  INTEGER NOT NULL DEFAULT 0,
    upheld    INTEGER NOT NULL DEFAULT 0,
    voided    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (branch_id, month)
);
INSERT INTO branch_month_appeals (branch_id, month, appealed, upheld, voided)
SELECT v.branch_id, substr(v.local_date, 1, 7), count(DISTINCT a.visit_id),
    count(DISTINCT CASE WHEN a.decision IN ('upheld', 'partly_upheld') THEN a.visit_id END),
    count(DISTINCT CASE WHEN a.voided = 1 THEN a.visit_id END)
FROM appeals a JOIN visits v ON v.id = a.visit_id
WHERE v.local_date IS NOT NULL
GROUP BY v.branch_id, substr(v.local_date, 1, 7);
