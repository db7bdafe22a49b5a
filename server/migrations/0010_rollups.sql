-- Counts that pages show, kept so that reading them costs the same at a million visits
-- as at ten thousand (issue "Fast as it grows").

-- Visit rows per questionnaire version and state: the questionnaire pages' "visits made
-- with this version" and the home page's counts by state. Kept by triggers, so every
-- write to visits updates it in its own transaction and it never disagrees with them.
CREATE TABLE visit_counts (
    questionnaire_id      TEXT NOT NULL,
    questionnaire_version INTEGER NOT NULL,
    state                 TEXT NOT NULL,
    visits                INTEGER NOT NULL DEFAULT 0 CHECK (visits >= 0),
    PRIMARY KEY (questionnaire_id, questionnaire_version, state)
);
INSERT INTO visit_counts (questionnaire_id, questionnaire_version, state, visits)
SELECT questionnaire_id, questionnaire_version, state, count(*) FROM visits GROUP BY 1, 2, 3;

CREATE TRIGGER visit_counts_insert AFTER INSERT ON visits BEGIN
    INSERT INTO visit_counts (questionnaire_id, questionnaire_version, state, visits)
    VALUES (NEW.questionnaire_id, NEW.questionnaire_version, NEW.state, 1)
    ON CONFLICT (questionnaire_id, questionnaire_version, state)
    DO UPDATE SET visits = visits + 1;
END;

CREATE TRIGGER visit_counts_delete AFTER DELETE ON visits BEGIN
    UPDATE visit_counts SET visits = visits - 1
    WHERE questionnaire_id = OLD.questionnaire_id
      AND questionnaire_version = OLD.questionnaire_version AND state = OLD.state;
END;

CREATE TRIGGER visit_counts_update
AFTER UPDATE OF state, questionnaire_id, questionnaire_version ON visits
WHEN OLD.state IS NOT NEW.state OR OLD.questionnaire_id IS NOT NEW.questionnaire_id
  OR OLD.questionnaire_version IS NOT NEW.questionnaire_version
BEGIN
    UPDATE visit_counts SET visits = visits - 1
    WHERE questionnaire_id = OLD.questionnaire_id
      AND questionnaire_version = OLD.questionnaire_version AND state = OLD.state;
    INSERT INTO visit_counts (questionnaire_id, questionnaire_version, state, visits)
    VALUES (NEW.questionnaire_id, NEW.questionnaire_version, NEW.state, 1)
    ON CONFLICT (questionnaire_id, questionnaire_version, state)
    DO UPDATE SET visits = visits + 1;
END;

-- Per branch, per month, per question: what the branch dashboard's weakest questions read
-- (only questions scored with points possible). Kept with branch_month_scores in the
-- transaction that approves a visit (queries/summaries.count_approval).
CREATE TABLE branch_month_questions (
    branch_id    INTEGER NOT NULL REFERENCES branches(id),
    month        TEXT NOT NULL CHECK (month GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]'),
    question_key TEXT NOT NULL,
    visits       INTEGER NOT NULL DEFAULT 0,
    earned       REAL NOT NULL DEFAULT 0,
    possible     REAL NOT NULL DEFAULT 0,
    PRIMARY KEY (branch_id, month, question_key)
);
INSERT INTO branch_month_questions (branch_id, month, question_key, visits, earned, possible)
SELECT v.branch_id, substr(v.local_date, 1, 7), json_extract(q.value, '$.key'), count(*),
       sum(json_extract(q.value, '$.earned')), sum(json_extract(q.value, '$.possible'))
FROM visits v, json_each(v.scores, '$.questions') q
WHERE v.state = 'approved' AND v.local_date IS NOT NULL
  AND json_extract(q.value, '$.status') = 'scored' AND json_extract(q.value, '$.possible') > 0
GROUP BY 1, 2, 3;

-- The agency's list of open assignments, soonest first, without reading the done ones.
CREATE INDEX assignments_by_state ON assignments (state, window_start);
