-- A live call's phone legs in its Twilio conference (contactd/store/legs.py).

-- name: leg_insert
-- $1 contact, $2 acceptance, $3 role, $4 agent, $5 room, $6 now.
INSERT INTO call_legs (contact_id, acceptance, role, agent_id, room, started_at)
VALUES ($1, $2, $3, $4, $5, $6)
RETURNING *;

-- name: leg_get
SELECT l.*, s.login FROM call_legs l JOIN staff s ON s.id = l.agent_id WHERE l.id = $1;

-- name: leg_answered
-- The leg answered ($2 its call sid): once, and only while it lasts.
UPDATE call_legs SET answered_at = coalesce(answered_at, $3), call_sid = coalesce(call_sid, $2)
WHERE id = $1 AND ended_at IS NULL
RETURNING *;

-- name: leg_ended
-- The leg ended: once. Nothing is returned for a leg that had ended before.
UPDATE call_legs SET ended_at = $3, call_sid = coalesce(call_sid, $2)
WHERE id = $1 AND ended_at IS NULL
RETURNING *;

-- name: legs_of
-- A contact's legs in one acceptance, the caseworker's first (the newest: one handed over
-- comes after the leg it replaced), locked (a consultation is started, completed or
-- cancelled by one request at a time).
SELECT l.*, s.login FROM call_legs l JOIN staff s ON s.id = l.agent_id
WHERE l.contact_id = $1 AND l.acceptance = $2
ORDER BY l.role, l.id DESC
FOR UPDATE OF l;

-- name: agent_leg_of
-- The caseworker's leg of a contact's acceptance (the newest), read without a lock: what
-- a webhook asks to put the caller where the call is.
SELECT * FROM call_legs
WHERE contact_id = $1 AND acceptance = $2 AND role = 'agent'
ORDER BY id DESC LIMIT 1;

-- name: leg_handed_over
-- A consultation completed: the colleague's leg is the caseworker's leg of the contact's new
-- acceptance ($2), in the same conference.
UPDATE call_legs SET role = 'agent', acceptance = $2 WHERE id = $1 RETURNING *;

-- name: legs_of_contacts
-- The live legs of contacts ($1), for the desk: whom each caseworker is consulting.
SELECT l.contact_id, l.acceptance, l.role, l.answered_at IS NOT NULL AS answered, s.login
FROM call_legs l JOIN staff s ON s.id = l.agent_id
WHERE l.contact_id = ANY($1::bigint[]) AND l.ended_at IS NULL;
