-- When the contact was last passed on (declined, let expire, transferred, taken back): the
-- agents in passed_by are passed over for routing.passed_over_seconds after it, then may be
-- offered it again, so a contact that only they can take does not wait for ever.
ALTER TABLE contacts ADD COLUMN passed_at timestamptz;
-- A contact passed on before this version: its last change is the best guess of the pass.
UPDATE contacts SET passed_at = state_changed_at WHERE passed_by <> '{}';
