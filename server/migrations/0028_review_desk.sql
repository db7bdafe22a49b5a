-- The review desk (issue "The agency at scale"): each waiting visit's warning codes,
-- kept so the queue filters and pages by them (",short_visit,far_from_branch," — ","
-- when none; NULL until first worked out); notes on single answers of a returned visit
-- (JSON {question key: note}), which the shopper reads in the app; the reviewer's rating
-- of a visit's quality (1–10) with its reason; and a library of reusable notes, each in
-- English, Indonesian and French.
ALTER TABLE visits ADD COLUMN warning_codes TEXT;
ALTER TABLE visits ADD COLUMN review_answer_notes TEXT;
ALTER TABLE visits ADD COLUMN quality_rating INTEGER CHECK (quality_rating BETWEEN 1 AND 10);
ALTER TABLE visits ADD COLUMN quality_reason TEXT;
CREATE TABLE review_notes (
    id          INTEGER PRIMARY KEY,
    title       TEXT NOT NULL,
    texts       TEXT NOT NULL CHECK (json_valid(texts)),
    created_by  INTEGER REFERENCES users(id),
    created_at  TEXT NOT NULL,
    archived_at TEXT
);
