-- The questionnaire pages count the visits made with each version; without this index
-- every count reads the whole visits table.
CREATE INDEX visits_by_questionnaire ON visits (questionnaire_id, questionnaire_version);

-- Open-to-claim assignments are listed for every shopper's sync.
CREATE INDEX assignments_unclaimed ON assignments (state, window_end) WHERE shopper_id IS NULL;
