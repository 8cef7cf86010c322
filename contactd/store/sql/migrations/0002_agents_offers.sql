-- Agents (skills, languages, capacity, state), the offers made to them, and the moment a
-- contact entered its current queue (the wait that widens its required skill level).

ALTER TABLE contacts ADD COLUMN queued_at timestamptz;
UPDATE contacts SET queued_at = created_at;
ALTER TABLE contacts ALTER COLUMN queued_at SET NOT NULL;
ALTER TABLE contacts ALTER COLUMN queued_at SET DEFAULT now();

-- The router's scan: queued contacts in urgency order.
CREATE INDEX contacts_queued_idx ON contacts (priority DESC, due_at, queued_at, id)
    WHERE state = 'queued';

CREATE TABLE agents (
    staff_id         bigint PRIMARY KEY REFERENCES staff (id),
    skills           jsonb NOT NULL DEFAULT '{}',  -- {"family": 4, "visa": 2}: levels 1-5
    languages        text[] NOT NULL DEFAULT '{da}',
    capacity         jsonb NOT NULL DEFAULT '{"call": 1, "callback": 1, "email": 3, "ticket": 1}',
    counter          text,
    phone            text,
    state            text NOT NULL DEFAULT 'offline'
                     CHECK (state IN ('offline', 'available', 'away', 'wrap_up')),
    state_changed_at timestamptz NOT NULL DEFAULT now(),
    idle_since       timestamptz NOT NULL DEFAULT now(),
    missed_offers    integer NOT NULL DEFAULT 0
);
CREATE INDEX agents_available_idx ON agents (staff_id) WHERE state = 'available';

CREATE TABLE offers (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    contact_id  bigint NOT NULL REFERENCES contacts (id),
    agent_id    bigint NOT NULL REFERENCES staff (id),
    offered_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    reason      jsonb NOT NULL,
    outcome     text CHECK (outcome IN ('accepted', 'declined', 'expired', 'withdrawn')),
    decided_at  timestamptz
);
-- A contact has at most one open offer: the last guard against offering it twice.
CREATE UNIQUE INDEX offers_open_contact_idx ON offers (contact_id) WHERE outcome IS NULL;
CREATE INDEX offers_open_expiry_idx ON offers (expires_at) WHERE outcome IS NULL;
CREATE INDEX offers_agent_idx ON offers (agent_id, offered_at);
