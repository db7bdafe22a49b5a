-- What the chain comparison shows beside the averages (issue "Closing the loop for owners
-- and chains"), kept in the approval transaction like the other rollups: how many
-- visits fell in each score band (0: below 50, 1: 50-69, 2: 70-84, 3: 85 and above),
-- and visits and scores by weekday (0: Monday, from the visit's day at the branch) and
-- part of the day (0: before 12:00, 1: 12:00-17:00, 2: from 17:00, by the clock the
-- phone kept at the branch). Filled at start-up by recounting the approved visits.
CREATE TABLE branch_month_bands (
    branch_id INTEGER NOT NULL REFERENCES branches(id),
    month     TEXT NOT NULL CHECK (month GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]'),
    band      INTEGER NOT NULL CHECK (band BETWEEN 0 AND 3),
    visits    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (branch_id, month, band)
);
CREATE TABLE branch_month_slots (
    branch_id INTEGER NOT NULL REFERENCES branches(id),
    month     TEXT NOT NULL CHECK (month GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]'),
    weekday   INTEGER NOT NULL CHECK (weekday BETWEEN 0 AND 6),
    daypart   INTEGER NOT NULL CHECK (daypart BETWEEN 0 AND 2),
    visits    INTEGER NOT NULL DEFAULT 0,
    scored    INTEGER NOT NULL DEFAULT 0,
    score_sum REAL NOT NULL DEFAULT 0,
    PRIMARY KEY (branch_id, month, weekday, daypart)
);
