-- Scenarios in every language (issue "Questionnaires that think"): a questionnaire
-- declares its scenarios (a key and texts in en/id/fr); an assignment picks one by key
-- (NULL: none), which conditions (show_if) may test. The free-text scenario stays, as an
-- extra note for the shopper.
ALTER TABLE assignments ADD COLUMN scenario_key TEXT;
