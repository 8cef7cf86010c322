-- Named queries, loaded once by contactd/queries.py. Parameters are always bound ($1, ...).

-- name: insert_contact
-- One statement: the contact, its 'created' event and the wake-up for the routing loop.
-- Returns no row when (channel, external_id) exists already: the caller then reads that one.
WITH new AS (
    INSERT INTO contacts (reference, channel, external_id, case_type, case_type_source, confidence,
                          language, queue, priority, due_at, client_address, subject, body,
                          created_at, state_changed_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14)
    ON CONFLICT (channel, external_id) DO NOTHING
    RETURNING *
), event AS (
    INSERT INTO contact_events (contact_id, at, action, to_state, actor, reason)
    SELECT id, created_at, 'created', state, $15, $16::jsonb FROM new
)
SELECT new.*, pg_notify('contactd_contacts', new.queue)::text AS notified FROM new;

-- name: contact_by_external_id
SELECT * FROM contacts WHERE channel = $1 AND external_id = $2;

-- name: contact_by_reference
SELECT * FROM contacts WHERE reference = $1;

-- name: contact_by_id
SELECT * FROM contacts WHERE id = $1;

-- name: events_of_contact
SELECT at, action, from_state, to_state, actor, reason FROM contact_events
WHERE contact_id = $1 ORDER BY id;

-- name: transition_contact
-- One statement: move the contact if its state allows it, and log the event.
-- $1 id, $2 new state, $3 allowed states, $4 action, $5 actor, $6 reason,
-- $7 agent id (kept on offer; cleared when the contact goes back to the queue),
-- $8 whether this counts as an attempt (an agent took it), $9 outcome (kept when null).
WITH old AS (
    SELECT id, state FROM contacts WHERE id = $1 FOR UPDATE
), moved AS (
    UPDATE contacts c SET
        state = $2,
        state_changed_at = clock_timestamp(),
        agent_id = CASE WHEN $2 = 'offered' THEN $7
                        WHEN $2 = 'queued' THEN NULL
                        ELSE c.agent_id END,
        answered_at = CASE WHEN $2 = 'active' THEN coalesce(c.answered_at, clock_timestamp())
                           ELSE c.answered_at END,
        closed_at = CASE WHEN $2 IN ('done', 'abandoned', 'cancelled') THEN clock_timestamp()
                         ELSE c.closed_at END,
        attempts = c.attempts + CASE WHEN $8 THEN 1 ELSE 0 END,
        outcome = coalesce($9, c.outcome)
    FROM old
    WHERE c.id = old.id AND old.state = ANY($3::text[])
    RETURNING c.*, old.state AS from_state
), event AS (
    INSERT INTO contact_events (contact_id, at, action, from_state, to_state, actor, reason)
    SELECT id, state_changed_at, $4, from_state, state, $5, $6::jsonb FROM moved
)
SELECT moved.*, pg_notify('contactd_contacts', moved.queue)::text AS notified FROM moved;

-- name: insert_staff
INSERT INTO staff (login, name, role, token_hash, token_at)
VALUES ($1, $2, $3, $4, now())
RETURNING *;

-- name: staff_by_login
SELECT * FROM staff WHERE login = $1;

-- name: staff_by_token
-- A disabled person's token stops working at once: the check is in every lookup.
SELECT * FROM staff WHERE token_hash = $1 AND disabled_at IS NULL;

-- name: list_staff
SELECT * FROM staff ORDER BY login;

-- name: disable_staff
UPDATE staff SET disabled_at = coalesce(disabled_at, now()) WHERE login = $1 RETURNING *;

-- name: replace_staff_token
-- A new token also re-enables a disabled person.
UPDATE staff SET token_hash = $2, token_at = now(), disabled_at = NULL WHERE login = $1 RETURNING *;

-- name: instance_heartbeat
INSERT INTO instances (id, hostname, pid, version, is_leader)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (id) DO UPDATE SET seen_at = now(), is_leader = EXCLUDED.is_leader;

-- name: instance_gone
DELETE FROM instances WHERE id = $1;

-- name: forget_stale_instances
DELETE FROM instances WHERE seen_at < now() - make_interval(secs => $1);

-- name: schema_ready
-- The highest applied migration; /ready compares it with the migrations the code ships.
SELECT coalesce(max(version), 0) FROM schema_migrations;
