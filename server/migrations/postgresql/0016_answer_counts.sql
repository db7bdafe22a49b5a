-- Answers counted per branch, month and question, kept in the approval transaction like
-- the other rollups (issue "Questionnaires that think"): the 0-10 answers of nps
-- questions (a net promoter score with its n), the options chosen in multi_choice
-- questions (their distribution), and the questions a visit did not ask ("not asked").
-- answer: the value as text; "*" counts the visits that answered, "-" those that did not
-- ask the question. Filled at start-up by recounting the approved visits.
CREATE TABLE branch_month_answers (
    branch_id    BIGINT NOT NULL REFERENCES branches(id),
    month        TEXT NOT NULL CHECK (month ~ '^[0-9]{4}-[0-9]{2}$'),
    question_key TEXT NOT NULL,
    answer       TEXT NOT NULL,
    visits       INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (branch_id, month, question_key, answer)
);
