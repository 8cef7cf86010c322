-- The what-if lab's inputs from reality (contactd/services/whatif_inputs.py): the traffic of
-- chosen working days, estimated from the contacts created on them, and today's agent
-- profiles. Only what the estimates need is read: never a client's address, subject or text,
-- nor a staff member's name or phone. The caller gives the days; no statement reads the
-- database's clock.
--
-- The traffic queries share their parameters: $1 and $2 the UTC bounds of the period (the
-- first day's local midnight, the midnight after the last: the contacts_created_at_idx range),
-- $3 the agency's time zone, $4 the working days (local dates) to count. A contact belongs to
-- the local day it was created on; one created on a closed day is not read.

-- name: whatif_arrivals
-- The contacts created on the working days, per channel, local hour (0-23), case type and
-- language: per_day, profile, case_types and english are sums of these counts.
SELECT channel, extract(hour FROM created_at AT TIME ZONE $3)::int AS hour, case_type,
       language, count(*) AS n
FROM contacts
WHERE created_at >= $1 AND created_at < $2
  AND (created_at AT TIME ZONE $3)::date = ANY($4::date[])
GROUP BY 1, 2, 3, 4;

-- name: whatif_handling
-- Handling time per channel: from the accept to the finish of each finished contact that an
-- agent handled (not a ticket's no-show, not a callback whose client was never reached), the
-- last finish and the last accept before it: the stretch of the agent who finished it (an
-- earlier agent's stretch before a transfer, or a dial nobody answered, is not handling).
SELECT c.channel, count(*) AS handled, avg(h.seconds)::float8 AS mean_seconds,
       coalesce(stddev_samp(h.seconds), 0)::float8 AS sd_seconds
FROM contacts c
CROSS JOIN LATERAL (
    SELECT extract(epoch FROM f.at - a.at) AS seconds
    FROM (SELECT id, at FROM contact_events
          WHERE contact_id = c.id AND action = 'finish' ORDER BY id DESC LIMIT 1) f
    CROSS JOIN LATERAL (SELECT at FROM contact_events
                        WHERE contact_id = c.id AND action = 'accept' AND id < f.id
                        ORDER BY id DESC LIMIT 1) a
) h
WHERE c.created_at >= $1 AND c.created_at < $2
  AND (c.created_at AT TIME ZONE $3)::date = ANY($4::date[])
  AND c.state = 'done'
  AND c.outcome IS DISTINCT FROM 'no_show' AND c.outcome IS DISTINCT FROM 'not_reached'
GROUP BY c.channel;

-- name: whatif_call_waits
-- Calls whose wait ended by an answer or an abandon, counted as `contactd report` counts them
-- (statistics_ended): answered once an agent took it, waited from creation to that moment;
-- abandoned when the caller hung up unanswered, waited until then. Calls still waiting, or
-- kept their place as a callback, ended their wait by neither and are not read.
SELECT count(*) FILTER (WHERE answered_at IS NOT NULL) AS answered,
       count(*) FILTER (WHERE abandoned) AS abandoned,
       coalesce(sum(greatest(extract(epoch FROM answered_at - created_at), 0))
                FILTER (WHERE answered_at IS NOT NULL), 0)::float8 AS answered_wait_seconds,
       coalesce(sum(greatest(extract(epoch FROM closed_at - created_at), 0))
                FILTER (WHERE abandoned), 0)::float8 AS abandoned_wait_seconds
FROM (
    SELECT created_at, answered_at, closed_at,
           state = 'abandoned' AND answered_at IS NULL AS abandoned
    FROM contacts
    WHERE channel = 'call' AND created_at >= $1 AND created_at < $2
      AND (created_at AT TIME ZONE $3)::date = ANY($4::date[])
) calls;

-- name: whatif_callback_attempts
-- The dialled callbacks' tries at the client, as the phone channel records them
-- (channels/phone/dialing.py): one nobody answered sends the callback back to the queue
-- ("client <status>") or, the last one, finishes it as not reached; one answered ends in
-- the agent's finish. A try that failed on the agent's side ("agent <status>", "no agent
-- phone", a failed dial) was never a try at the client and is not read.
SELECT count(*) FILTER (WHERE (e.action = 'requeue' AND e.reason ->> 'why' LIKE 'client %')
                              OR (e.action = 'finish' AND e.reason ->> 'why' = 'not reached'))
           AS unanswered,
       count(*) FILTER (WHERE e.action = 'finish'
                              AND e.reason ->> 'why' IS DISTINCT FROM 'not reached')
           AS answered
FROM contacts c
JOIN contact_events e ON e.contact_id = c.id AND e.action IN ('requeue', 'finish')
WHERE c.channel = 'callback' AND c.created_at >= $1 AND c.created_at < $2
  AND (c.created_at AT TIME ZONE $3)::date = ANY($4::date[]);

-- name: whatif_profiles
-- Every agent profile of staff not disabled, by login: what the lab plays them with.
SELECT s.login, a.skills, a.languages, a.capacity
FROM agents a JOIN staff s ON s.id = a.staff_id
WHERE s.disabled_at IS NULL
ORDER BY s.login;
