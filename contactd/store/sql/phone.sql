-- The phone channel's own statements (contactd/services/calls.py): live calls passed on.

-- name: call_queued_at
-- Since when a live call's caller has waited (locked: the transfer restores it after).
SELECT queued_at FROM contacts WHERE id = $1 FOR UPDATE;

-- name: transfer_keeps_place
-- A live call passed on to another queue keeps its place there: the wait the caller has
-- waited already counts ($2, the call's queued_at before the transfer).
UPDATE contacts SET queued_at = $2 WHERE id = $1 RETURNING *;

-- name: transfer_target
-- The colleague a live call is passed to by login ($1): enabled, with an agent profile, its
-- phone, state and room for calls, locked (as the router locks agents before it offers)
-- so that no offer lands on them while the transfer decides.
SELECT a.staff_id, a.phone, a.state, a.languages,
       coalesce((a.capacity ->> 'call')::int, 0) AS capacity,
       (SELECT count(*) FROM contacts c
        WHERE c.agent_id = a.staff_id AND c.channel = 'call'
          AND c.state IN ('offered', 'active'))
     + (SELECT count(*) FROM call_legs l
        WHERE l.agent_id = a.staff_id AND l.role = 'consult' AND l.ended_at IS NULL) AS calls
FROM staff s JOIN agents a ON a.staff_id = s.id
WHERE s.login = $1 AND s.disabled_at IS NULL
FOR UPDATE OF a;
