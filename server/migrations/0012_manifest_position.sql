-- A visit's photos keep the order of its photo list in a column of their own, instead of
-- SQLite's rowid (which PostgreSQL does not have). Rows already stored were inserted in
-- list order, so their rowids order them.
ALTER TABLE visit_photos ADD COLUMN position INTEGER NOT NULL DEFAULT 0;
UPDATE visit_photos SET position = rowid;
