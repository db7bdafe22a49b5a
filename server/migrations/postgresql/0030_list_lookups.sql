-- Lists at scale (issue "The agency at scale"): the review queue reads only its waiting
-- visits' own index (partial: submitted rows only, so it stays as small as the queue);
-- the assignments list pages a state by window.
CREATE INDEX visits_waiting ON visits (state, submitted_at, branch_id, shopper_id,
    warning_codes, visit_uuid, revision, score_total) WHERE state = 'submitted';
CREATE INDEX assignments_by_state_window ON assignments (state, window_start);
