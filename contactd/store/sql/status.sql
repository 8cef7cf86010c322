-- The public status page beside the service centre (contactd/services/public_status.py): the
-- hotline's wait for a caller who rings now, and how long e-mail answers took recently. One
-- query per figure, each reading the live contacts or one week of answers through an index,
-- never the contacts finished before: the page is recomputed every second or so.

-- name: status_hotline
-- Per phone queue ($1: {queue: [its case types]}), at $2 (now), what queue_place gives a
-- caller: waiting, the calls and due callbacks queued (a caller who rings now stands at
-- waiting + 1); agents, signed in (not offline) with a skill for one of the case types;
-- handle_seconds, the average handling of the queue's voice contacts over the last day
-- (null when there were none).
WITH q AS (
    SELECT key AS queue, ARRAY(SELECT jsonb_array_elements_text(value)) AS case_types
    FROM jsonb_each($1::jsonb)
), waiting AS (
    SELECT queue, count(*) AS waiting
    FROM contacts
    WHERE state = 'queued' AND channel IN ('call', 'callback')
      AND (not_before IS NULL OR not_before <= $2)
    GROUP BY queue
), handled AS (
    SELECT queue, extract(epoch FROM avg(closed_at - answered_at))::float8 AS handle_seconds
    FROM contacts
    WHERE closed_at > $2::timestamptz - interval '1 day' AND channel IN ('call', 'callback')
      AND state = 'done' AND answered_at IS NOT NULL
    GROUP BY queue
), staffed AS (
    SELECT a.skills FROM agents a JOIN staff s ON s.id = a.staff_id AND s.disabled_at IS NULL
    WHERE a.state <> 'offline'
)
SELECT q.queue, coalesce(w.waiting, 0) AS waiting,
       (SELECT count(*) FROM staffed a WHERE a.skills ?| q.case_types) AS agents,
       h.handle_seconds
FROM q LEFT JOIN waiting w USING (queue) LEFT JOIN handled h USING (queue);

-- name: status_email_answers
-- The e-mails of the queues $3 first answered in [$1, $2), per queue: how many, and the
-- median of their time from receipt to first answer counted in the open hours of their
-- e-mail calendar (statistics_email_responses' measure, counted here instead of row by
-- row). The calendar comes as its open intervals in order: $4 their starts, $5 their ends,
-- $6 the open seconds before each, $7 the working days before each, $8 the open seconds of
-- each one's day (a working day counts 1, spread over its open hours). A moment is found
-- among the intervals by binary search (width_bucket); one before the first counts from it.
WITH opening AS (
    SELECT * FROM unnest($4::timestamptz[], $5::timestamptz[], $6::float8[], $7::float8[],
                         $8::float8[])
        WITH ORDINALITY AS o(starts, ends, seconds_before, days_before, day_seconds, i)
), answered AS (
    SELECT queue, created_at, first_response_at,
           width_bucket(created_at, $4::timestamptz[]) AS received_in,
           width_bucket(first_response_at, $4::timestamptz[]) AS answered_in
    FROM contacts
    WHERE channel = 'email' AND first_response_at >= $1 AND first_response_at < $2
      AND queue = ANY($3::text[])
), placed AS (  -- each moment's interval, and how far into it the moment is
    SELECT a.queue,
           r.seconds_before AS r_seconds, r.days_before AS r_days, r.day_seconds AS r_day,
           extract(epoch FROM least(a.created_at, r.ends) - r.starts)::float8 AS r_into,
           f.seconds_before AS f_seconds, f.days_before AS f_days, f.day_seconds AS f_day,
           extract(epoch FROM least(a.first_response_at, f.ends) - f.starts)::float8 AS f_into
    FROM answered a
    LEFT JOIN opening r ON r.i = a.received_in
    LEFT JOIN opening f ON f.i = a.answered_in
), measured AS (  -- open time from the receipt (r) to the first answer (f)
    SELECT queue,
           coalesce(f_seconds + f_into, 0) - coalesce(r_seconds + r_into, 0) AS seconds,
           coalesce(f_days + f_into / f_day, 0) - coalesce(r_days + r_into / r_day, 0) AS days
    FROM placed
)
SELECT queue, count(*) AS answered,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY greatest(seconds, 0)) AS median_seconds,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY greatest(days, 0)) AS median_days
FROM measured
GROUP BY queue;
