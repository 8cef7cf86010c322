-- Named queries, loaded once by contactd/queries.py. Parameters are always bound ($1, ...).

-- name: insert_contact
-- One statement: the contact, its 'created' event and the wake-up for the routing loop.
-- Returns no row when (channel, external_id) exists already: the caller then reads that one.
WITH new AS (
    INSERT INTO contacts (reference, channel, external_id, case_type, case_type_source, confidence,
                          language, queue, priority, due_at, client_address, subject, body,
                          created_at, state_changed_at, queued_at, guesses, not_before,
                          client_language)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14, $14, $17, $18, $19)
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
-- $8 whether this counts as an attempt (an agent took it), $9 outcome (kept when null),
-- $10 the agent who must hold it now (null: anyone), $11 a new queue (a transfer: the
-- wait in the new queue starts again), $12 a corrected case type (set by staff; a change is
-- also kept in case_type_corrections, for retraining the classifier), $13 a new due time (a
-- reopened contact: the answer to the new mail is promised anew), $14 now, $15 the state's
-- start the caller saw (null: any; a webhook's change must not land on a later acceptance),
-- $16 the new queue's priority (a transfer: a contact's priority is at least its queue's).
WITH old AS (
    SELECT id, state, case_type, case_type_source, confidence FROM contacts
    WHERE id = $1 AND ($10::bigint IS NULL OR agent_id = $10)
      AND ($15::timestamptz IS NULL OR state_changed_at = $15)
    FOR UPDATE
), moved AS (
    UPDATE contacts c SET
        state = $2,
        state_changed_at = $14,
        agent_id = CASE WHEN $2 = 'offered' THEN $7
                        WHEN $2 = 'queued' THEN NULL
                        ELSE c.agent_id END,
        answered_at = CASE WHEN $2 = 'active' THEN coalesce(c.answered_at, $14)
                           ELSE c.answered_at END,
        closed_at = CASE WHEN $2 IN ('done', 'abandoned', 'cancelled') THEN $14
                         WHEN $2 = 'queued' THEN NULL
                         ELSE c.closed_at END,
        due_at = coalesce($13, c.due_at),
        attempts = c.attempts + CASE WHEN $8 THEN 1 ELSE 0 END,
        outcome = CASE WHEN $4 = 'reopen' THEN NULL ELSE coalesce($9, c.outcome) END,
        passed_by = CASE WHEN $4 IN ('decline', 'expire', 'requeue') AND c.agent_id IS NOT NULL
                         THEN array_append(c.passed_by, c.agent_id)
                         WHEN $4 = 'reopen' THEN '{}'  -- a new message: anyone may take it
                         ELSE c.passed_by END,
        passed_at = CASE WHEN $4 IN ('decline', 'expire', 'requeue') AND c.agent_id IS NOT NULL
                         THEN $14
                         WHEN $4 = 'reopen' THEN NULL
                         ELSE c.passed_at END,
        queue = coalesce($11, c.queue),
        priority = greatest(c.priority, coalesce($16::int, c.priority)),
        -- A transfer starts the wait in the new queue again; a ticket keeps its place by
        -- its issue time, as the visitor has been waiting in the same room all along.
        queued_at = CASE WHEN $11 IS NULL THEN c.queued_at
                         WHEN c.channel = 'ticket' THEN c.created_at
                         ELSE $14 END,
        case_type = coalesce($12, c.case_type),
        case_type_source = CASE WHEN $12 IS NULL THEN c.case_type_source ELSE 'staff' END,
        confidence = CASE WHEN $12 IS NULL THEN c.confidence ELSE NULL END
    FROM old
    WHERE c.id = old.id AND old.state = ANY($3::text[])
    RETURNING c.*, old.state AS from_state
), event AS (
    INSERT INTO contact_events (contact_id, at, action, from_state, to_state, actor, reason)
    SELECT id, state_changed_at, $4, from_state, state, $5, $6::jsonb FROM moved
), corrected AS (
    INSERT INTO case_type_corrections (contact_id, from_type, from_source, confidence, to_type,
                                       actor, corrected_at)
    SELECT moved.id, old.case_type, old.case_type_source, old.confidence, moved.case_type, $5,
           moved.state_changed_at
    FROM moved JOIN old ON old.id = moved.id
    WHERE moved.case_type <> old.case_type
    -- A second correction keeps what the contact was first sorted as.
    ON CONFLICT (contact_id) DO UPDATE SET
        to_type = EXCLUDED.to_type, actor = EXCLUDED.actor, corrected_at = EXCLUDED.corrected_at
), ticket_back AS (
    -- A ticket sent back to a queue waits again: no counter, no calls, off the board.
    UPDATE tickets t SET calls = 0, counter = NULL, called_at = NULL
    FROM moved WHERE t.contact_id = moved.id AND $4 = 'requeue'
), decided AS (
    -- Leaving 'offered' decides the open offer, so the contact can be offered again later.
    UPDATE offers o SET
        outcome = CASE $4 WHEN 'accept' THEN 'accepted' WHEN 'decline' THEN 'declined'
                          WHEN 'expire' THEN 'expired' ELSE 'withdrawn' END,
        decided_at = moved.state_changed_at
    FROM moved
    WHERE o.contact_id = moved.id AND o.outcome IS NULL AND moved.from_state = 'offered'
)
SELECT moved.*, pg_notify('contactd_contacts', moved.queue)::text AS notified FROM moved;

-- name: insert_staff
-- $6 the token's end (null: it does not expire).
INSERT INTO staff (login, name, role, token_hash, token_at, created_at, token_expires_at)
VALUES ($1, $2, $3, $4, $5, $5, $6)
RETURNING *;

-- name: staff_by_login
SELECT * FROM staff WHERE login = $1;

-- name: staff_by_token
-- A disabled person's token stops working at once, an expired one at its end ($2 now).
SELECT * FROM staff
WHERE token_hash = $1 AND disabled_at IS NULL
  AND (token_expires_at IS NULL OR token_expires_at > $2);

-- name: list_staff
SELECT * FROM staff ORDER BY login;

-- Disabling, rotating a token and re-enabling: access.sql.

-- name: upsert_agent
-- An agent's profile: skills, languages, capacity per channel, counter and phone.
INSERT INTO agents (staff_id, skills, languages, capacity, counter, phone, state_changed_at,
                    idle_since)
VALUES ($1, $2::jsonb, $3, $4::jsonb, $5, $6, $7, $7)
ON CONFLICT (staff_id) DO UPDATE SET
    skills = EXCLUDED.skills, languages = EXCLUDED.languages, capacity = EXCLUDED.capacity,
    counter = EXCLUDED.counter, phone = EXCLUDED.phone
RETURNING *, pg_notify('contactd_agents', staff_id::text)::text AS notified;

-- name: set_agent_state
-- Becoming available starts the idle clock (the longest idle is offered first).
UPDATE agents SET
    state = $2,
    state_changed_at = $3,
    idle_since = CASE WHEN $2 = 'available' AND state <> 'available' THEN $3
                      ELSE idle_since END,
    missed_offers = CASE WHEN $2 = 'available' THEN 0 ELSE missed_offers END
WHERE staff_id = $1
RETURNING *, pg_notify('contactd_agents', staff_id::text)::text AS notified;

-- name: agent_by_staff_id
SELECT * FROM agents WHERE staff_id = $1;

-- name: available_agents
-- Available, enabled agents with what they hold now per channel (offered or active; a
-- colleague consulted on a live call holds a call too).
SELECT a.staff_id, a.skills, a.languages, a.capacity, a.idle_since,
       a.counter IS NOT NULL AS at_counter,
       coalesce((SELECT jsonb_object_agg(channel, n) FROM (
                    SELECT channel, count(*) AS n FROM (
                        SELECT c.channel FROM contacts c
                        WHERE c.agent_id = a.staff_id AND c.state IN ('offered', 'active')
                        UNION ALL
                        SELECT 'call' FROM call_legs l
                        WHERE l.agent_id = a.staff_id AND l.role = 'consult'
                          AND l.ended_at IS NULL) mine
                    GROUP BY channel) held), '{}') AS held
FROM agents a JOIN staff s ON s.id = a.staff_id AND s.disabled_at IS NULL
WHERE a.state = 'available';

-- name: waiting_contacts
-- Queued contacts in routing order, at most $1, at $2 (now); $3 the configured queues with
-- their priorities, {"family": 20, ...} (a contact of another queue is not loaded); $4 the
-- oldest pass on a contact still honoured (now - routing.passed_over_seconds). The order
-- is routing.engine.order_of(CONTACTD, ...), so the engine need not sort them again: a
-- contact's own priority (its priority above its queue's) first, the higher the sooner;
-- then the earliest due_at, the higher priority, the earliest queued_at, the lowest id.
-- No index can give that order (it depends on $3), so it is read in two parts that each hold
-- every contact of theirs among the first $1: those with an own priority, few, per queue
-- through contacts_live_idx; and the others in due_at order through contacts_queued_idx,
-- stopping after $1. The two are merged.
-- A numbered ticket is called to a counter: only an agent who sits at one can take it.
WITH queue AS (
    SELECT key AS code, value::int AS priority FROM jsonb_each_text($3::jsonb)
), waiting AS (
    (SELECT c.*, c.priority - q.priority AS own
     FROM queue q CROSS JOIN LATERAL (
         -- ORDER BY and LIMIT keep this a scan of the index per queue (not a join).
         SELECT id, channel, language, case_type, queue, priority, due_at, queued_at, passed_by,
                passed_at
         FROM contacts
         WHERE state = 'queued' AND queue = q.code AND priority > q.priority
           AND (not_before IS NULL OR not_before <= $2)
         ORDER BY priority DESC, due_at, queued_at, id
         LIMIT $1) c
     ORDER BY own DESC, due_at, priority DESC, queued_at, id
     LIMIT $1)
    UNION ALL
    (SELECT id, channel, language, case_type, queue, priority, due_at, queued_at, passed_by,
            passed_at, 0
     FROM contacts
     WHERE state = 'queued' AND priority <= ($3::jsonb ->> queue)::int
       AND (not_before IS NULL OR not_before <= $2)
     ORDER BY due_at, priority DESC, queued_at, id
     LIMIT $1)
)
SELECT id, channel, language, case_type, queue, priority, due_at, queued_at,
       -- Passed over only for a while ($4: the oldest pass still honoured), so that a contact
       -- only those agents can take is offered to them again rather than wait for ever.
       CASE WHEN passed_at > $4 THEN passed_by ELSE '{}' END AS passed_by,
       CASE WHEN channel = 'ticket'
            THEN EXISTS (SELECT 1 FROM tickets t WHERE t.contact_id = waiting.id)
            ELSE false END AS numbered
FROM waiting
ORDER BY own DESC, due_at, priority DESC, queued_at, id
LIMIT $1;

-- name: lock_agents
-- Taken before a batch of offers, in id order (no deadlock between two routers): another
-- router's offers to the same agents are then committed and counted, never missed.
SELECT staff_id FROM agents WHERE staff_id = ANY($1::bigint[]) ORDER BY staff_id FOR UPDATE;

-- name: offer_contact
-- One offer, made only if the contact is still queued and the agent still available with
-- room on its channel; with its event and its expiry. $1 contact, $2 agent, $3 reason,
-- $4 expiry seconds per channel, $5 now. Returns nothing when the offer was not made.
WITH target AS (
    SELECT c.id, c.channel, (a.capacity ->> c.channel)::int AS capacity
    FROM contacts c, agents a JOIN staff s ON s.id = a.staff_id AND s.disabled_at IS NULL
    WHERE c.id = $1 AND a.staff_id = $2 AND a.state = 'available'
), held AS (
    SELECT (SELECT count(*) FROM contacts
            WHERE agent_id = $2 AND state IN ('offered', 'active')
              AND channel = (SELECT channel FROM target))
         + (SELECT count(*) FROM call_legs
            WHERE agent_id = $2 AND role = 'consult' AND ended_at IS NULL
              AND (SELECT channel FROM target) = 'call') AS n
), moved AS (
    UPDATE contacts c SET state = 'offered', state_changed_at = $5, agent_id = $2
    FROM target, held
    WHERE c.id = target.id AND c.state = 'queued' AND held.n < coalesce(target.capacity, 0)
    RETURNING c.id, c.queue, c.channel, c.state_changed_at
), event AS (
    INSERT INTO contact_events (contact_id, at, action, from_state, to_state, actor, reason)
    SELECT id, state_changed_at, 'offer', 'queued', 'offered', 'router', $3::jsonb FROM moved
), offer AS (
    INSERT INTO offers (contact_id, agent_id, offered_at, expires_at, reason)
    SELECT id, $2, state_changed_at,
           state_changed_at + make_interval(secs => ($4::jsonb ->> channel)::float8), $3::jsonb
    FROM moved
)
-- Tell the desks (not the router: it made this offer) that something arrived.
SELECT id, queue, pg_notify('contactd_desk', $2::text)::text AS notified FROM moved;

-- name: due_offers
-- Open offers whose time is up at $2, oldest first.
SELECT id, contact_id, agent_id FROM offers
WHERE outcome IS NULL AND expires_at <= $2
ORDER BY expires_at LIMIT $1;

-- name: held_by_disabled
-- E-mails and tickets held by someone since disabled (they left): back to their queue. A call
-- or a callback is on the line and ends with its call.
SELECT c.id, c.agent_id FROM staff s
JOIN contacts c ON c.agent_id = s.id AND c.state = 'active'
WHERE s.disabled_at IS NOT NULL AND c.channel IN ('email', 'ticket')
ORDER BY c.id LIMIT $1;

-- name: lock_due_offer
-- The same offer, still open and due, locked: not one accepted, declined or made anew since.
SELECT id FROM offers
WHERE id = $1 AND outcome IS NULL AND expires_at <= $2 FOR UPDATE;

-- name: offer_missed
-- An agent let an offer expire: after $2 in a row they are set away, so that the contacts
-- they would be offered go to someone who is there. $3: now.
UPDATE agents SET
    missed_offers = missed_offers + 1,
    state = CASE WHEN missed_offers + 1 >= $2 AND state = 'available' THEN 'away' ELSE state END,
    state_changed_at = CASE WHEN missed_offers + 1 >= $2 AND state = 'available'
                            THEN $3 ELSE state_changed_at END
WHERE staff_id = $1
RETURNING state, pg_notify('contactd_agents', staff_id::text)::text AS notified;

-- name: offer_taken
UPDATE agents SET missed_offers = 0 WHERE staff_id = $1;

-- name: contact_finished
-- After a finished contact: wrap-up if the agent is available ($2), and the idle clock
-- restarts ($3: now). An agent who chose away or offline stays so.
UPDATE agents SET
    state = CASE WHEN $2 AND state = 'available' THEN 'wrap_up' ELSE state END,
    state_changed_at = CASE WHEN $2 AND state = 'available' THEN $3
                            ELSE state_changed_at END,
    idle_since = $3
WHERE staff_id = $1
RETURNING pg_notify('contactd_agents', staff_id::text)::text AS notified;

-- name: end_wrap_ups
-- Agents whose wrap-up time after a finished contact is over become available again.
UPDATE agents SET state = 'available', state_changed_at = $2, idle_since = $2
WHERE state = 'wrap_up' AND state_changed_at <= $2::timestamptz - make_interval(secs => $1)
RETURNING staff_id, pg_notify('contactd_agents', staff_id::text)::text AS notified;

-- name: contacts_held_by
-- What an agent has on the desk: offered (with the offer's expiry) and active contacts, and
-- how many e-mails each has (a reply that arrives makes the desk show it).
SELECT c.*, o.expires_at AS offer_expires_at,
       (SELECT count(*) FROM messages m WHERE m.contact_id = c.id) AS message_count,
       t.number AS ticket_number, t.calls AS ticket_calls
FROM contacts c
LEFT JOIN offers o ON o.contact_id = c.id AND o.outcome IS NULL
LEFT JOIN tickets t ON t.contact_id = c.id
WHERE c.agent_id = $1 AND c.state IN ('offered', 'active')
ORDER BY c.state_changed_at;

-- name: all_agents
SELECT a.*, s.login, s.name FROM agents a JOIN staff s ON s.id = a.staff_id ORDER BY s.login;

-- name: queue_overview
-- Per queue and channel: how many wait, are offered or are being handled, and the oldest
-- wait at $1, for supervisors.
SELECT queue, channel,
       count(*) FILTER (WHERE state = 'queued') AS waiting,
       count(*) FILTER (WHERE state = 'offered') AS offered,
       count(*) FILTER (WHERE state = 'active') AS active,
       extract(epoch FROM $1::timestamptz - min(queued_at) FILTER (WHERE state = 'queued'))
           AS oldest_wait_seconds
FROM contacts WHERE state IN ('queued', 'offered', 'active')
GROUP BY queue, channel ORDER BY queue, channel;

-- name: instance_heartbeat
INSERT INTO instances (id, hostname, pid, version, is_leader, started_at, seen_at)
VALUES ($1, $2, $3, $4, $5, $6, $6)
ON CONFLICT (id) DO UPDATE SET seen_at = $6, is_leader = EXCLUDED.is_leader;

-- name: instance_gone
DELETE FROM instances WHERE id = $1;

-- name: forget_stale_instances
DELETE FROM instances WHERE seen_at < $2::timestamptz - make_interval(secs => $1);

-- name: schema_ready
-- The highest applied migration; /ready compares it with the migrations the code ships.
SELECT coalesce(max(version), 0) FROM schema_migrations;

-- name: corrections_summary
-- How many case types staff corrected, and how many of those the classifier had chosen.
SELECT count(*) AS total,
       count(*) FILTER (WHERE from_source = 'classifier') AS of_classifier,
       max(corrected_at) AS last
FROM case_type_corrections;

-- name: corrections_for_training
-- Staff corrections whose contact still has its text (the retention job purges it).
SELECT c.id, k.to_type AS case_type, c.language, c.channel, c.subject, c.body
FROM case_type_corrections k JOIN contacts c ON c.id = k.contact_id
WHERE c.subject IS NOT NULL OR c.body IS NOT NULL
ORDER BY c.id;

-- name: call_by_sid
-- The contact a Twilio call made: a call, or the callback it became.
SELECT * FROM contacts WHERE external_id = $1 AND channel IN ('call', 'callback')
ORDER BY id LIMIT 1;

-- name: queue_place
-- Where a waiting call stands: $1 contact, $2 the case types its queue serves, $3 now.
-- position: voice contacts ahead of it in routing order, + 1; agents: signed in (not
-- offline) with a skill for one of the case types; handle_seconds: the average handling of
-- the queue's voice contacts over the last day (null when there were none).
WITH me AS (SELECT * FROM contacts WHERE id = $1)
SELECT
    (SELECT count(*) FROM contacts c, me
     WHERE c.state = 'queued' AND c.queue = me.queue AND c.channel IN ('call', 'callback')
       AND (c.not_before IS NULL OR c.not_before <= $3)
       AND (c.priority > me.priority
            OR (c.priority = me.priority
                AND (c.due_at, c.queued_at, c.id) < (me.due_at, me.queued_at, me.id))))
        + 1 AS position,
    (SELECT count(*) FROM agents a JOIN staff s ON s.id = a.staff_id AND s.disabled_at IS NULL
     WHERE a.state <> 'offline' AND a.skills ?| $2::text[]) AS agents,
    (SELECT extract(epoch FROM avg(c.closed_at - c.answered_at)) FROM contacts c, me
     WHERE c.queue = me.queue AND c.channel IN ('call', 'callback') AND c.state = 'done'
       AND c.answered_at IS NOT NULL AND c.closed_at > $3::timestamptz - interval '1 day')
        AS handle_seconds;

-- name: keep_place
-- A waiting caller asked to be called back: the call becomes a callback to $2 with its
-- place (due_at, queued_at) kept, at $5. Only a queued call changes; otherwise no row.
WITH moved AS (
    UPDATE contacts SET channel = 'callback', client_address = $2
    WHERE id = $1 AND channel = 'call' AND state = 'queued'
    RETURNING *
), event AS (
    INSERT INTO contact_events (contact_id, at, action, from_state, to_state, actor, reason)
    SELECT id, $5, 'keep_place', state, state, $3, $4::jsonb FROM moved
)
SELECT moved.*, pg_notify('contactd_contacts', moved.queue)::text AS notified FROM moved;

-- name: insert_outbox
-- A message to send, written in the transaction of the change it belongs to. A key seen
-- before is ignored: the message is already on its way. $5: now (due at once).
WITH new AS (
    INSERT INTO outbox (contact_id, kind, payload, idempotency_key, created_at, next_attempt_at)
    VALUES ($1, $2, $3::jsonb, $4, $5, $5)
    ON CONFLICT (idempotency_key) DO NOTHING
    RETURNING id
)
SELECT id, pg_notify('contactd_outbox', '')::text AS notified FROM new;

-- name: outbox_sent
UPDATE outbox SET sent_at = $3, last_error = NULL,
                  payload = payload || jsonb_build_object('provider_id', $2::text)
WHERE id = $1;

-- name: outbox_retry
-- A message withdrawn while its send was tried stays withdrawn (its reason kept).
UPDATE outbox SET next_attempt_at = $4::timestamptz + make_interval(secs => $2),
                  last_error = $3
WHERE id = $1 AND failed_at IS NULL;

-- name: outbox_wait
-- Not sent for a reason outside the message (no sender, wrong credentials): not a try.
UPDATE outbox SET next_attempt_at = $4::timestamptz + make_interval(secs => $2),
                  last_error = $3, attempts = attempts - 1
WHERE id = $1 AND failed_at IS NULL;

-- name: outbox_expire
-- Given up: not sent within its kind's maximum age ($1 kinds, $2 hours), and not being sent
-- now (a leased row's next_attempt_at is in the future). $3: now.
UPDATE outbox o SET failed_at = $3,
                    last_error = 'expired: not sent within ' || a.hours || ' hours'
                                 || coalesce(' (last error: ' || o.last_error || ')', '')
FROM unnest($1::text[], $2::float8[]) AS a (kind, hours)
WHERE o.kind = a.kind AND o.sent_at IS NULL AND o.failed_at IS NULL
  AND o.next_attempt_at <= $3
  AND o.created_at < $3::timestamptz - make_interval(secs => a.hours * 3600)
RETURNING o.id, o.kind;

-- name: outbox_failed
UPDATE outbox SET failed_at = $3, last_error = $2 WHERE id = $1;

-- name: pending_callback
-- A callback to this number not made yet: a second booking gets this one back.
SELECT * FROM contacts
WHERE client_address = $1 AND channel = 'callback' AND state IN ('queued', 'offered', 'active')
ORDER BY id LIMIT 1;

-- name: bookings_in_last_day
SELECT count(*) FROM contacts
WHERE client_address = $1 AND channel = 'callback' AND external_id LIKE 'booking:%'
  AND created_at >= $2::timestamptz - interval '1 day';

-- name: booking_sms_in_last_hour
-- The global cap on SMS the public booking form can cause (SMS pumping), over all instances.
SELECT count(*) FROM outbox
WHERE kind = 'sms' AND idempotency_key LIKE 'sms:booked:%'
  AND created_at >= $1::timestamptz - interval '1 hour';

-- name: callback_retry_at
-- A client not reached is called again from $2, by any agent (also the one who tried).
UPDATE contacts SET not_before = $2, passed_by = '{}', passed_at = NULL WHERE id = $1;

-- name: waiting_callbacks_of
-- Callbacks to this number about this case type still waiting: merged into a call from the
-- same number that was put through.
SELECT id FROM contacts
WHERE client_address = $1 AND case_type = $2 AND channel = 'callback' AND state = 'queued';

-- name: attempt_not_counted
-- A try that never reached the client (the call was not placed, or the agent's phone did
-- not answer) is not counted against the client's attempts.
UPDATE contacts SET attempts = greatest(attempts - 1, 0) WHERE id = $1;

-- name: insert_message
-- One e-mail of a contact; nothing when its external id is known (a message read again).
INSERT INTO messages (contact_id, direction, kind, message_id, external_id, mailbox, at,
                      staff_id, subject, body, html, attachments, raw, reply_to, authentication)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::jsonb, $13, $14, $15::jsonb)
ON CONFLICT (external_id) DO NOTHING
RETURNING id;

-- name: contact_for_update
SELECT * FROM contacts WHERE id = $1 FOR UPDATE;

-- name: message_by_external_id
SELECT m.id, c.reference FROM messages m JOIN contacts c ON c.id = m.contact_id
WHERE m.external_id = $1;

-- name: thread_by_message_ids
-- The e-mail contact that holds one of the messages a reply names (the latest if several).
SELECT c.* FROM messages m JOIN contacts c ON c.id = m.contact_id
WHERE m.message_id = ANY($1::text[]) AND c.channel = 'email'
ORDER BY m.id DESC LIMIT 1;

-- name: thread_by_reference
-- The e-mail contact whose reference a reply carries in its subject, from the same address.
SELECT * FROM contacts
WHERE reference = ANY($1::text[]) AND channel = 'email' AND lower(client_address) = lower($2)
ORDER BY id DESC LIMIT 1;

-- name: contact_messages
SELECT id, direction, kind, message_id, at, staff_id, subject, body, html, attachments,
       raw IS NOT NULL AS has_raw, octet_length(raw) AS raw_size, reply_to, authentication
FROM messages WHERE contact_id = $1 ORDER BY id;

-- name: message_raw
SELECT raw FROM messages WHERE id = $1 AND contact_id = $2;

-- name: last_incoming_message
SELECT message_id, subject, reply_to FROM messages
WHERE contact_id = $1 AND direction = 'in' AND kind = 'mail' ORDER BY id DESC LIMIT 1;

-- name: thread_message_ids
SELECT message_id FROM messages
WHERE contact_id = $1 AND message_id IS NOT NULL AND kind <> 'bounce' ORDER BY id;

-- name: lock_address
-- Mail from one address is acknowledged one transaction at a time, so the limit holds when
-- several of its messages are stored at once.
SELECT pg_advisory_xact_lock(hashtextextended('contactd.ack:' || $1, 0));

-- name: acknowledgements_to
-- Acknowledgements written to an address since a time: the per-address limit.
SELECT count(*) FROM outbox
WHERE kind = 'email' AND payload ->> 'to' = $1 AND created_at > $2
  AND idempotency_key LIKE 'email:ack:%';

-- name: first_response
UPDATE contacts SET first_response_at = coalesce(first_response_at, $2) WHERE id = $1
RETURNING first_response_at;

-- name: contact_note
-- An event that changes no state (a message threaded on, a bounce) at $5: the desk is woken.
INSERT INTO contact_events (contact_id, at, action, from_state, to_state, actor, reason)
SELECT id, $5, $2, state, state, $3, $4::jsonb FROM contacts WHERE id = $1
RETURNING pg_notify('contactd_contacts', (SELECT queue FROM contacts WHERE id = $1))::text;

-- name: channel_status_set
-- $5: now.
INSERT INTO channel_status (name, state, detail, instance, changed_at, checked_at)
VALUES ($1, $2, $3, $4, $5, $5)
ON CONFLICT (name) DO UPDATE SET
    changed_at = CASE WHEN channel_status.state = EXCLUDED.state
                       AND channel_status.detail IS NOT DISTINCT FROM EXCLUDED.detail
                      THEN channel_status.changed_at ELSE $5 END,
    state = EXCLUDED.state, detail = EXCLUDED.detail, instance = EXCLUDED.instance,
    checked_at = $5;

-- name: channel_statuses
SELECT name, state, detail, changed_at, checked_at, instance FROM channel_status ORDER BY name;

-- name: number_ticket
-- The ticket with its letter's next number today ('A001'; four digits from the 1,000th),
-- counted in the issuing transaction: a rollback gives the number back, so numbers have no
-- gaps, and the counter row's lock makes concurrent issues wait: one statement, so it is
-- held for as short a time as the transaction allows.
-- $1 contact, $2 letter, $3 day, $4 queue, $5 staff.
WITH counted AS (
    INSERT INTO ticket_days (letter, day, last) VALUES ($2, $3, 1)
    ON CONFLICT (letter, day) DO UPDATE SET last = ticket_days.last + 1
    RETURNING last
)
INSERT INTO tickets (contact_id, number, day, queue, issued_by)
SELECT $1, $2 || CASE WHEN last < 1000 THEN lpad(last::text, 3, '0') ELSE last::text END,
       $3, $4, $5
FROM counted
RETURNING number;

-- name: ticket_of
SELECT t.*, c.reference, c.state, c.queue AS contact_queue FROM tickets t
JOIN contacts c ON c.id = t.contact_id WHERE t.contact_id = $1;

-- name: ticket_place
-- Where a waiting ticket stands: $1 contact, $2 the case types its queue serves, $3 the
-- start of the handling-time window. position: tickets ahead of it in routing order, + 1;
-- servers: people at a counter (not offline) with a skill for one of the case types;
-- handle_seconds: the average handling of the queue's tickets in the window (no-shows out).
WITH me AS (SELECT * FROM contacts WHERE id = $1)
SELECT
    (SELECT count(*) FROM contacts c, me
     WHERE c.state IN ('queued', 'offered') AND c.queue = me.queue AND c.channel = 'ticket'
       AND c.id <> me.id
       AND (c.priority > me.priority
            OR (c.priority = me.priority
                AND (c.due_at, c.queued_at, c.id) < (me.due_at, me.queued_at, me.id))))
        + 1 AS position,
    (SELECT count(*) FROM agents a JOIN staff s ON s.id = a.staff_id AND s.disabled_at IS NULL
     WHERE a.state <> 'offline' AND a.counter IS NOT NULL AND a.skills ?| $2::text[]) AS servers,
    (SELECT extract(epoch FROM avg(c.closed_at - c.answered_at)) FROM contacts c, me
     WHERE c.queue = me.queue AND c.channel = 'ticket' AND c.state = 'done'
       AND c.outcome IS DISTINCT FROM 'no_show'
       AND c.answered_at IS NOT NULL AND c.closed_at > $3) AS handle_seconds;

-- name: ticket_called
-- A counter calls the ticket (first call or recall) at $3: the board is woken.
UPDATE tickets SET calls = calls + 1, called_at = $3, counter = $2
WHERE contact_id = $1
RETURNING calls, pg_notify('contactd_board', '')::text AS notified;

-- name: board
-- The tickets called today, newest first, for the waiting-room board.
SELECT t.number, t.counter, t.called_at, t.calls, c.queue, c.state
FROM tickets t JOIN contacts c ON c.id = t.contact_id
WHERE t.day = $1 AND t.called_at IS NOT NULL
ORDER BY t.called_at DESC LIMIT $2;

-- name: ticket_queues
-- Per queue: tickets waiting, the number called last today, the handling time in the window.
SELECT q.queue,
    (SELECT count(*) FROM contacts c
     WHERE c.queue = q.queue AND c.channel = 'ticket' AND c.state IN ('queued', 'offered'))
        AS waiting,
    (SELECT t.number FROM tickets t JOIN contacts c ON c.id = t.contact_id
     WHERE c.queue = q.queue AND t.day = $2 AND t.called_at IS NOT NULL
     ORDER BY t.called_at DESC LIMIT 1) AS now_serving,
    (SELECT extract(epoch FROM avg(c.closed_at - c.answered_at)) FROM contacts c
     WHERE c.queue = q.queue AND c.channel = 'ticket' AND c.state = 'done'
       AND c.outcome IS DISTINCT FROM 'no_show'
       AND c.answered_at IS NOT NULL AND c.closed_at > $3) AS handle_seconds
FROM unnest($1::text[]) AS q(queue);

-- name: counter_staff
-- The skills of the people at a counter now: the servers of each queue.
SELECT a.skills FROM agents a JOIN staff s ON s.id = a.staff_id AND s.disabled_at IS NULL
WHERE a.state <> 'offline' AND a.counter IS NOT NULL;

-- name: tickets_near_their_turn
-- Waiting tickets with a phone number, not told yet, with at most $1 ahead of them.
WITH waiting AS (
    SELECT c.id, c.reference, c.language, c.client_language, c.client_address, t.number,
           t.notified_at,
           row_number() OVER (PARTITION BY c.queue
                              ORDER BY c.priority DESC, c.due_at, c.queued_at, c.id) - 1
               AS ahead
    FROM contacts c JOIN tickets t ON t.contact_id = c.id
    WHERE c.channel = 'ticket' AND c.state IN ('queued', 'offered')
)
SELECT * FROM waiting
WHERE ahead <= $1 AND notified_at IS NULL AND client_address IS NOT NULL;

-- name: ticket_notified
UPDATE tickets SET notified_at = $2 WHERE contact_id = $1 AND notified_at IS NULL
RETURNING contact_id;

-- name: withdraw_outbox
-- Messages of a contact not sent yet, that no longer make sense (a cancelled ticket's SMS).
UPDATE outbox SET failed_at = $3, last_error = $2
WHERE contact_id = $1 AND sent_at IS NULL AND failed_at IS NULL;

-- name: waiting_tickets_of
SELECT id FROM contacts WHERE channel = 'ticket' AND state = 'queued' AND queue = ANY($1::text[]);

-- name: set_counter
UPDATE agents SET counter = $2 WHERE staff_id = $1
RETURNING staff_id, pg_notify('contactd_agents', staff_id::text)::text AS notified;
