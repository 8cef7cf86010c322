-- bench/fixtures.py's history: `$1` finished contacts of one channel ($5) over the `$4` days
-- before $3 (0: that day only), as the statistics pass reads them. Written straight into the
-- contacts table of migration 0011 (see bench/fixtures.py for why).
WITH raw AS (
    SELECT g AS i, random() AS r, random() AS r2, random() AS r3,
           1 + floor(random() * array_length($7::text[], 1))::int AS k,
           -- local midnight of a day of the period, weekends moved to the Friday before
           (($3::date - (CASE WHEN $4 = 0 THEN 0 ELSE 1 + g % $4 END))::timestamp
            AT TIME ZONE 'Europe/Copenhagen') AS midnight
    FROM generate_series(1, $1) g
), day AS (
    SELECT *, midnight - make_interval(days => CASE extract(isodow FROM midnight
                                                      AT TIME ZONE 'Europe/Copenhagen')
                                               WHEN 6 THEN 1 WHEN 7 THEN 2 ELSE 0 END) AS d
    FROM raw
), timed AS (
    SELECT i, r, r2, r3, ($7::text[])[k] AS case_type, ($8::text[])[k] AS queue,
           ($9::int[])[k] AS priority,
           ($10::float8[])[k] AS due_seconds,
           CASE $5 WHEN 'email' THEN d + make_interval(secs => r3 * 86400)
                   WHEN 'ticket' THEN d + interval '8 hours' + make_interval(secs => r3 * 6 * 3600)
                   ELSE d + interval '9 hours' + make_interval(secs => r3 * 6 * 3600) END AS created
    FROM day
), ended AS (
    SELECT t.*, c.*
    FROM timed t, LATERAL (
        SELECT
            CASE
                WHEN $5 = 'call' AND r < 0.08 THEN 'abandoned'
                WHEN $5 = 'callback' AND r < 0.05 THEN 'abandoned'
                WHEN $5 = 'ticket' AND r < 0.04 THEN 'abandoned'
                WHEN $5 = 'ticket' AND r < 0.05 THEN 'cancelled'
                WHEN $5 = 'email' AND r < 0.01 THEN 'cancelled'
                ELSE 'done' END AS state,
            CASE $5 WHEN 'callback' THEN created + interval '1 hour' END AS not_before,
            -- the wait: calls mostly short, tickets up to 40 min, e-mails up to 4 days
            CASE $5 WHEN 'call' THEN make_interval(secs => 600 * r2 * r2)
                    WHEN 'ticket' THEN make_interval(secs => 2400 * r2)
                    WHEN 'callback' THEN interval '1 hour' + make_interval(secs => 3 * 3600 * r2)
                    ELSE make_interval(secs => 4 * 86400 * r2) END AS waited,
            CASE $5 WHEN 'email' THEN make_interval(secs => 600 + 1800 * r3)
                    WHEN 'ticket' THEN make_interval(secs => 240 + 720 * r3)
                    ELSE make_interval(secs => 60 + 540 * r3) END AS handled
    ) c
), shaped AS (
    SELECT i, case_type, queue, priority, state, created, not_before,
           coalesce(not_before, created) + make_interval(secs => due_seconds) AS due_at,
           CASE WHEN state = 'done' THEN created + waited END AS answered_at,
           CASE WHEN state = 'done' THEN created + waited + handled
                WHEN state = 'abandoned' THEN created + waited * r3
                ELSE created + interval '1 hour' END AS closed_at,
           CASE WHEN state = 'done' AND $5 = 'email'
                THEN created + waited + handled * 0.8 END AS first_response_at,
           CASE WHEN $5 = 'callback' AND state = 'done' AND r > 0.9 THEN 'not_reached'
                WHEN $5 = 'ticket' AND state = 'abandoned' THEN 'no_show'
                WHEN $5 = 'ticket' AND state = 'cancelled' THEN 'closed' END AS outcome
    FROM ended
)
INSERT INTO contacts (reference, channel, case_type, case_type_source, language, queue, priority,
                      state, created_at, state_changed_at, queued_at, answered_at, closed_at,
                      due_at, client_address, subject, body, agent_id, attempts, outcome,
                      not_before, first_response_at)
SELECT $2 || i, $5, case_type, CASE $5 WHEN 'email' THEN 'classifier' ELSE 'ivr' END,
       CASE WHEN i % 4 = 0 THEN 'en' ELSE 'da' END, queue, priority,
       -- what would end after now is still live: answered and being worked on, or waiting
       CASE WHEN closed_at <= $6 THEN state WHEN answered_at <= $6 THEN 'active'
            ELSE 'queued' END,
       created, least(coalesce(closed_at, created), $6), created,
       CASE WHEN answered_at <= $6 THEN answered_at END,
       CASE WHEN closed_at <= $6 THEN closed_at END, due_at,
       CASE $5 WHEN 'email' THEN 'client' || i || '@example.org' ELSE '+4520' || lpad(i::text, 6, '0') END,
       CASE $5 WHEN 'email' THEN 'Question about my case ' || i END,
       CASE $5 WHEN 'email' THEN repeat('Dear agency, I write about my application. ', 15) END,
       CASE WHEN answered_at IS NOT NULL AND answered_at <= $6 THEN ($11::bigint[])[1 + i % array_length($11::bigint[], 1)] END,
       CASE WHEN answered_at IS NOT NULL THEN 1 ELSE 0 END, outcome, not_before,
       CASE WHEN first_response_at <= $6 THEN first_response_at END
FROM shaped
WHERE created <= $6
