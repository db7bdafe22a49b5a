-- Action plans that prove themselves (issue "Closing the loop for owners and chains"):
-- open → in progress → done → verified (the chain's manager signs it off, or returns it
-- to in progress with a note). When it was marked done, verified and by whom, and the
-- manager's note are kept.
ALTER TABLE action_plans DROP CONSTRAINT action_plans_state_check;
ALTER TABLE action_plans ADD CONSTRAINT action_plans_state_check
    CHECK (state IN ('open', 'in_progress', 'done', 'verified', 'cancelled'));
ALTER TABLE action_plans ADD COLUMN done_at TEXT;
ALTER TABLE action_plans ADD COLUMN verified_at TEXT;
ALTER TABLE action_plans ADD COLUMN verified_by BIGINT REFERENCES users(id);
ALTER TABLE action_plans ADD COLUMN return_note TEXT;
UPDATE action_plans SET done_at = updated_at WHERE state = 'done';
