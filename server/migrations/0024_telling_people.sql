-- Telling people (issue "Telling people"): what each person is to be told, queued in the
-- transaction of the event that causes it and sent by the job queue (one "mail" job per
-- notification, or one "digest" job per person and digest time). A notification is
-- queued, then sent (with the Message-ID of the mail that carried it), skipped (the
-- person chose not to hear of it, or has no address) or failed (every attempt refused).
CREATE TABLE notifications (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users(id),
    kind        TEXT NOT NULL,
    params      TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(params)),
    state       TEXT NOT NULL DEFAULT 'queued'
                CHECK (state IN ('queued', 'sent', 'skipped', 'failed')),
    -- 'daily' or 'weekly' when it goes in a digest at due_at; NULL: on its own, at once
    digest      TEXT CHECK (digest IS NULL OR digest IN ('daily', 'weekly')),
    due_at      TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    sent_at     TEXT,
    message_id  TEXT,
    error       TEXT
);
CREATE INDEX notifications_waiting ON notifications (user_id, state, due_at);
-- What each person chose to hear of, by kind: at once, in a daily or weekly digest, or
-- not at all. No row: the kind's default (at once).
CREATE TABLE mail_preferences (
    user_id INTEGER NOT NULL REFERENCES users(id),
    kind    TEXT NOT NULL,
    choice  TEXT NOT NULL CHECK (choice IN ('now', 'daily', 'weekly', 'off')),
    PRIMARY KEY (user_id, kind)
);
-- A plan's reminders (due tomorrow, overdue) are sent once each.
ALTER TABLE action_plans ADD COLUMN due_reminded_at TEXT;
ALTER TABLE action_plans ADD COLUMN overdue_reminded_at TEXT;
-- Links that let a person choose their password: a reset they asked for (one hour) or an
-- invitation from an admin (seven days). The link is the row's id and an HMAC of it and
-- its nonce under the instance secret, so the database alone does not give it away;
-- each works once.
CREATE TABLE account_tokens (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users(id),
    purpose     TEXT NOT NULL CHECK (purpose IN ('reset', 'invite')),
    nonce       TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    used_at     TEXT
);
CREATE INDEX account_tokens_by_user ON account_tokens (user_id, purpose, created_at);
