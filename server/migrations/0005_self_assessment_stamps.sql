-- Timed questions in a self-assessment ("greeted within 10 seconds") are kept as stamps,
-- like a visit's, so the one scoring implementation scores both.
ALTER TABLE self_assessments ADD COLUMN stamps TEXT NOT NULL DEFAULT '{}'
    CHECK (json_valid(stamps));
