-- SQLite's rollups became WITHOUT ROWID tables (0031 there); PostgreSQL has no rowid
-- and keeps its tables as they are.
SELECT 1;
