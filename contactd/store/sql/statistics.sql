-- The leader's statistics pass and `contactd report`: the service figures of
-- docs/reference/kpi.md, per queue and channel. Each query reads only the contacts of its
-- period through the answered_at, closed_at and first_response_at indexes (and the live
-- ones through contacts_live_idx), never every contact finished before.

-- name: statistics_ended
-- The calls, e-mails and tickets whose wait ended in [$1, $2), counted as routing/figures.py
-- Counts (callbacks: statistics_callbacks). Answered: a call when an agent took it, an
-- e-mail at its first answer, a ticket served (at its call). Abandoned: a caller who hung up,
-- a ticket marked no-show or still waiting when the service centre closed.
WITH period AS (
    SELECT queue, channel, created_at, due_at, closed_at,
           CASE channel
               WHEN 'email' THEN first_response_at
               WHEN 'ticket' THEN CASE WHEN state = 'done' AND outcome IS DISTINCT FROM 'no_show'
                                       THEN answered_at END
               ELSE answered_at
           END AS answer_at,
           (state = 'abandoned' AND answered_at IS NULL)
           OR (channel = 'ticket' AND ((state = 'done' AND outcome = 'no_show')
                                       OR (state = 'cancelled' AND outcome = 'closed')))
               AS left_unanswered
    FROM contacts
    WHERE channel <> 'callback'
      AND ((answered_at >= $1 AND answered_at < $2)
           OR (closed_at >= $1 AND closed_at < $2)
           OR (first_response_at >= $1 AND first_response_at < $2))
), counted AS (
    SELECT queue, channel, created_at, due_at, answer_at, closed_at,
           answer_at >= $1 AND answer_at < $2 AS answered,
           left_unanswered AND closed_at >= $1 AND closed_at < $2 AS abandoned,
           extract(epoch FROM closed_at - created_at) AS left_after
    FROM period
)
SELECT queue, channel,
       count(*) FILTER (WHERE answered) AS answered,
       count(*) FILTER (WHERE answered AND answer_at <= due_at) AS answered_within,
       count(*) FILTER (WHERE abandoned) AS abandoned,
       count(*) FILTER (WHERE abandoned AND left_after < 5) AS abandoned_short,
       count(*) FILTER (WHERE abandoned AND left_after >= 5 AND closed_at <= due_at)
           AS abandoned_within,
       coalesce(sum(greatest(extract(epoch FROM answer_at - created_at), 0))
                FILTER (WHERE answered), 0)::float8 AS answered_wait_seconds,
       coalesce(sum(greatest(left_after, 0)) FILTER (WHERE abandoned), 0)::float8
           AS abandoned_wait_seconds
FROM counted
WHERE answered OR abandoned
GROUP BY queue, channel;

-- name: statistics_callbacks
-- Callbacks count on the day their window ends ($1 to $2), once that has happened by $3
-- (now), or earlier once reached. Reached: finished with the client reached (answered_at is
-- the first dial); within the goal when that was inside the window. A callback not reached
-- (given up, or still waiting after its window) broke its promise. The wait runs from the
-- window's start, not from the booking.
SELECT queue,
       count(*) AS due,
       count(*) FILTER (WHERE reached) AS reached,
       count(*) FILTER (WHERE reached AND answered_at <= due_at) AS reached_in_window,
       coalesce(sum(greatest(extract(epoch FROM answered_at - coalesce(not_before, created_at)), 0))
                FILTER (WHERE reached), 0)::float8 AS reached_wait_seconds
FROM (
    SELECT queue, due_at, answered_at, not_before, created_at,
           state = 'done' AND outcome IS DISTINCT FROM 'not_reached' AS reached
    FROM contacts
    WHERE channel = 'callback' AND due_at >= $1 AND due_at < $2 AND state <> 'cancelled'
) c
WHERE due_at < $3 OR reached
GROUP BY queue;

-- name: statistics_live
-- Now ($1): what waits per queue and channel. A callback waits once its window has opened;
-- an e-mail being worked on is overdue until its first answer has gone.
SELECT queue, channel,
       count(*) FILTER (WHERE waiting) AS waiting,
       coalesce(max(extract(epoch FROM $1 - coalesce(not_before, created_at)))
                FILTER (WHERE waiting), 0)::float8 AS oldest_wait_seconds,
       count(*) FILTER (WHERE due_at < $1
                        AND (waiting OR (channel = 'email' AND first_response_at IS NULL)))
           AS overdue,
       count(*) FILTER (WHERE channel = 'callback' AND waiting) AS callbacks_due
FROM (
    SELECT queue, channel, created_at, not_before, due_at, first_response_at,
           state IN ('queued', 'offered') AND (not_before IS NULL OR not_before <= $1) AS waiting
    FROM contacts
    WHERE state IN ('queued', 'offered', 'active')
) live
GROUP BY queue, channel;

-- name: statistics_agents
-- Every agent with a profile: state, skills and whether they hold a contact now.
SELECT a.staff_id, a.state, ARRAY(SELECT jsonb_object_keys(a.skills)) AS case_types,
       EXISTS (SELECT 1 FROM contacts c
               WHERE c.agent_id = a.staff_id AND c.state IN ('offered', 'active')) AS busy
FROM agents a JOIN staff s ON s.id = a.staff_id
WHERE s.disabled_at IS NULL;

-- name: statistics_arrivals
-- Contacts that arrived since $1, per queue and channel: the live arrival rate.
SELECT queue, channel, count(*) AS arrivals
FROM contacts
WHERE created_at >= $1
GROUP BY queue, channel;

-- name: statistics_handling
-- Contacts finished since $1 that an agent handled: the average handling time.
SELECT queue, channel, count(*) AS handled,
       avg(extract(epoch FROM closed_at - answered_at))::float8 AS handle_seconds
FROM contacts
WHERE closed_at >= $1 AND state = 'done' AND answered_at IS NOT NULL
  AND outcome IS DISTINCT FROM 'no_show' AND outcome IS DISTINCT FROM 'not_reached'
GROUP BY queue, channel;

-- name: statistics_email_responses
-- E-mails first answered in [$1, $2): their business-time response is counted in Python,
-- with the goal's calendar.
SELECT queue, created_at, first_response_at
FROM contacts
WHERE channel = 'email' AND first_response_at >= $1 AND first_response_at < $2;

-- name: statistics_outbox
-- Messages waiting to be sent, per kind, and the oldest.
SELECT kind, count(*) AS pending, min(created_at) AS oldest
FROM outbox
WHERE sent_at IS NULL AND failed_at IS NULL
GROUP BY kind;

-- name: statistics_channels
SELECT name, state, checked_at FROM channel_status;

-- name: statistics_csat
-- Satisfaction answers given since $1, per queue and channel.
SELECT queue, channel, count(*) AS answers, avg(score)::float8 AS mean_score
FROM csat
WHERE answered_at >= $1
GROUP BY queue, channel;

-- name: statistics_csat_between
-- Satisfaction answers given in [$1, $2), per queue and channel: `contactd report`'s days
-- (statistics_csat is today's, with no end).
SELECT queue, channel, count(*) AS answers, avg(score)::float8 AS mean_score
FROM csat
WHERE answered_at >= $1 AND answered_at < $2
GROUP BY queue, channel;
