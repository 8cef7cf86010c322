-- The agents who declined, let expire or transferred a contact: it is not offered to them
-- again, so a contact does not bounce back to the agent who just passed it on.
ALTER TABLE contacts ADD COLUMN passed_by bigint[] NOT NULL DEFAULT '{}';
