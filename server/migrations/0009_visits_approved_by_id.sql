-- Exports stream approved visits page by page in id order (queries/visits.approved_page):
-- walking this index, each page reads only its own rows instead of sorting every
-- remaining visit again (which made exports quadratic in their size).
CREATE INDEX visits_approved_by_id ON visits (state, id);
