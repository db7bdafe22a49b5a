-- The monthly rollups become WITHOUT ROWID tables (issue "Fast as it grows"): each row is
-- stored in its primary key's order, so a comparison that sums a range of months for 500
-- branches reads the key's b-tree alone instead of the key, then the row by its rowid:
-- 1.4-2.1x faster at 100k visits (docs/performance.md). Same columns, same rows.
-- PostgreSQL has no rowid: its twin changes nothing.

CREATE TABLE branch_month_scores_keyed (
    branch_id   INTEGER NOT NULL REFERENCES branches(id),
    month       TEXT NOT NULL CHECK (month GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]'),
    section_key TEXT NOT NULL,
    visits      INTEGER NOT NULL DEFAULT 0,
    scored      INTEGER NOT NULL DEFAULT 0,
    score_sum   REAL NOT NULL DEFAULT 0,
    PRIMARY KEY (branch_id, month, section_key)
) WITHOUT ROWID;
INSERT INTO branch_month_scores_keyed (branch_id, month, section_key, visits, scored, score_sum)
SELECT branch_id, month, section_key, visits, scored, score_sum FROM branch_month_scores;
DROP TABLE branch_month_scores;
ALTER TABLE branch_month_scores_keyed RENAME TO branch_month_scores;
CREATE TABLE branch_month_questions_keyed (
    branch_id    INTEGER NOT NULL REFERENCES branches(id),
    month        TEXT NOT NULL CHECK (month GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]'),
    question_key TEXT NOT NULL,
    visits       INTEGER NOT NULL DEFAULT 0,
    earned       REAL NOT NULL DEFAULT 0,
    possible     REAL NOT NULL DEFAULT 0,
    PRIMARY KEY (branch_id, month, question_key)
) WITHOUT ROWID;
INSERT INTO branch_month_questions_keyed (branch_id, month, question_key, visits, earned, possible)
SELECT branch_id, month, question_key, visits, earned, possible FROM branch_month_questions;
DROP TABLE branch_month_questions;
ALTER TABLE branch_month_questions_keyed RENAME TO branch_month_questions;
CREATE TABLE branch_month_answers_keyed (
    branch_id    INTEGER NOT NULL REFERENCES branches(id),
    month        TEXT NOT NULL CHECK (month GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]'),
    question_key TEXT NOT NULL,
    answer       TEXT NOT NULL,
    visits       INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (branch_id, month, question_key, answer)
) WITHOUT ROWID;
INSERT INTO branch_month_answers_keyed (branch_id, month, question_key, answer, visits)
SELECT branch_id, month, question_key, answer, visits FROM branch_month_answers;
DROP TABLE branch_month_answers;
ALTER TABLE branch_month_answers_keyed RENAME TO branch_month_answers;
CREATE TABLE branch_month_bands_keyed (
    branch_id INTEGER NOT NULL REFERENCES branches(id),
    month     TEXT NOT NULL CHECK (month GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]'),
    band      INTEGER NOT NULL CHECK (band BETWEEN 0 AND 3),
    visits    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (branch_id, month, band)
) WITHOUT ROWID;
INSERT INTO branch_month_bands_keyed (branch_id, month, band, visits)
SELECT branch_id, month, band, visits FROM branch_month_bands;
DROP TABLE branch_month_bands;
ALTER TABLE branch_month_bands_keyed RENAME TO branch_month_bands;
CREATE TABLE branch_month_slots_keyed (
    branch_id INTEGER NOT NULL REFERENCES branches(id),
    month     TEXT NOT NULL CHECK (month GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]'),
    weekday   INTEGER NOT NULL CHECK (weekday BETWEEN 0 AND 6),
    daypart   INTEGER NOT NULL CHECK (daypart BETWEEN 0 AND 2),
    visits    INTEGER NOT NULL DEFAULT 0,
    scored    INTEGER NOT NULL DEFAULT 0,
    score_sum REAL NOT NULL DEFAULT 0,
    PRIMARY KEY (branch_id, month, weekday, daypart)
) WITHOUT ROWID;
INSERT INTO branch_month_slots_keyed (branch_id, month, weekday, daypart, visits, scored, score_sum)
SELECT branch_id, month, weekday, daypart, visits, scored, score_sum FROM branch_month_slots;
DROP TABLE branch_month_slots;
ALTER TABLE branch_month_slots_keyed RENAME TO branch_month_slots;
CREATE INDEX branch_month_scores_by_month ON branch_month_scores (month, branch_id);
