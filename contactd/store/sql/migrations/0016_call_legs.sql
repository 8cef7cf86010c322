-- Issue 19: a live call is talked in a Twilio conference (the caller, the caseworker, and a
-- colleague consulted), so that the caller can be held while the caseworker consults and
-- then handed over without being dropped. One row per phone leg the daemon places into a
-- contact's conference: the caseworker's ('agent') and the colleague consulted ('consult').
-- Every Twilio URL of a leg names its id; its state here says what its webhooks may do.
CREATE TABLE call_legs (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    contact_id   bigint NOT NULL REFERENCES contacts (id),
    acceptance   text NOT NULL,  -- the contact's acceptance the leg serves (channels.ports)
    role         text NOT NULL CHECK (role IN ('agent', 'consult')),
    agent_id     bigint NOT NULL REFERENCES staff (id),
    room         text NOT NULL,  -- the conference's friendly name
    call_sid     text,           -- Twilio's sid of the leg, from its first webhook
    started_at   timestamptz NOT NULL,
    answered_at  timestamptz,
    ended_at     timestamptz
);
CREATE INDEX call_legs_contact_idx ON call_legs (contact_id, id);
-- A colleague being consulted holds a call as much as one who talks to a caller.
CREATE INDEX call_legs_consulting_idx ON call_legs (agent_id)
    WHERE role = 'consult' AND ended_at IS NULL;
-- One consultation at a time per call.
CREATE UNIQUE INDEX call_legs_one_consult_idx ON call_legs (contact_id)
    WHERE role = 'consult' AND ended_at IS NULL;
