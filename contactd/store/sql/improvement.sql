-- The improvement report (contactd/services/improvement.py): what clients tell us and why they
-- contact us again. Only counts, codes and the clients' own comments leave these queries:
-- never an address, a reference or a name. Every period is [$1, $2), local midnights in UTC.

-- name: improvement_repeats
-- Failure demand and first-contact resolution, per case type and channel: the contacts
-- created in the period from a known client (client_key: the keyed hash of the address,
-- kept after a purge), and those followed by another contact of the same client within $3
-- days (counted until $4, now: the last days' windows are still open). A merged or
-- cancelled contact is no contact of its own. answered: taken by a caseworker and done
-- (no no-show, no callback not reached).
WITH made AS (
    SELECT id, case_type, channel, client_key, created_at,
           state = 'done' AND answered_at IS NOT NULL
               AND outcome IS DISTINCT FROM 'no_show'
               AND outcome IS DISTINCT FROM 'not_reached' AS answered
    FROM contacts
    WHERE created_at >= $1 AND created_at < $2 AND client_key IS NOT NULL
      AND state <> 'cancelled' AND outcome IS DISTINCT FROM 'merged'
), followed AS MATERIALIZED (  -- read once: both FILTERs use its EXISTS
    SELECT m.*, EXISTS (
        SELECT 1 FROM contacts n
        WHERE n.client_key = m.client_key AND n.id <> m.id
          AND n.created_at > m.created_at
          AND n.created_at <= least(m.created_at + make_interval(days => $3), $4::timestamptz)
          AND n.state <> 'cancelled' AND n.outcome IS DISTINCT FROM 'merged'
    ) AS again
    FROM made m
)
SELECT case_type, channel,
       count(*) AS contacts,
       count(*) FILTER (WHERE again) AS followed,
       count(*) FILTER (WHERE answered) AS answered,
       count(*) FILTER (WHERE answered AND again) AS answered_followed
FROM followed
GROUP BY case_type, channel
ORDER BY case_type, channel;

-- name: improvement_comments
-- The satisfaction answers with a comment given in the period, newest first, at most $4;
-- $3: only those whose comment contains it (case-insensitive), or all when null.
SELECT s.score, s.comment, s.queue, s.channel, c.case_type, c.wrap_up, s.answered_at
FROM csat s JOIN contacts c ON c.id = s.contact_id
WHERE s.answered_at >= $1 AND s.answered_at < $2
  AND s.comment IS NOT NULL AND s.comment <> ''
  AND ($3::text IS NULL OR strpos(lower(s.comment), lower($3)) > 0)
ORDER BY s.answered_at DESC, s.contact_id DESC
LIMIT $4;

-- name: improvement_callbacks
-- Callbacks closed in the period per queue, and those whose client was not reached.
SELECT queue, count(*) AS closed,
       count(*) FILTER (WHERE outcome = 'not_reached') AS not_reached
FROM contacts
WHERE channel = 'callback' AND closed_at >= $1 AND closed_at < $2
  AND state IN ('done', 'abandoned')
GROUP BY queue
ORDER BY queue;

-- name: improvement_corrections
-- The classifier's case types that staff corrected in the period: which it confuses.
SELECT from_type, to_type, count(*) AS n
FROM case_type_corrections
WHERE from_source = 'classifier' AND corrected_at >= $1 AND corrected_at < $2
GROUP BY from_type, to_type
ORDER BY n DESC, from_type, to_type;

-- name: improvement_classified
-- Contacts created in the period that the classifier sorted (corrected later or not).
SELECT count(*) FROM contacts c
WHERE c.created_at >= $1 AND c.created_at < $2
  AND (c.case_type_source = 'classifier'
       OR EXISTS (SELECT 1 FROM case_type_corrections k
                  WHERE k.contact_id = c.id AND k.from_source = 'classifier'));

-- name: improvement_mailed
-- The period's mail claimed for sending, once: no row back when it was claimed before.
INSERT INTO improvement_mailings (kind, first_day, recipients, enqueued_at)
VALUES ($1, $2, $3, $4)
ON CONFLICT (kind, first_day) DO NOTHING
RETURNING kind;

-- name: improvement_was_mailed
SELECT EXISTS (SELECT 1 FROM improvement_mailings WHERE kind = $1 AND first_day = $2);
