-- The supervisors' console (issue 18; contactd/services/console.py).

-- name: console_agents
-- Every enabled person with an agent profile: their state and since when, and the contacts
-- offered to or held by them now (reference, channel, queue, state, since). No client data.
SELECT s.login, s.name, a.state, a.state_changed_at, a.missed_offers, a.counter,
       coalesce(jsonb_agg(jsonb_build_object(
                    'reference', c.reference, 'channel', c.channel, 'queue', c.queue,
                    'state', c.state, 'since', c.state_changed_at)
                ORDER BY c.state_changed_at) FILTER (WHERE c.id IS NOT NULL), '[]') AS holding
FROM agents a
JOIN staff s ON s.id = a.staff_id AND s.disabled_at IS NULL
LEFT JOIN contacts c ON c.agent_id = a.staff_id AND c.state IN ('offered', 'active')
GROUP BY s.login, s.name, a.state, a.state_changed_at, a.missed_offers, a.counter
ORDER BY s.login;

-- name: console_offers
-- The offers a contact was made, oldest first, with the routing's reason for each.
SELECT o.offered_at, o.expires_at, o.outcome, o.decided_at, o.reason, s.login
FROM offers o JOIN staff s ON s.id = o.agent_id
WHERE o.contact_id = $1
ORDER BY o.offered_at;

-- name: console_csat
-- Satisfaction answers given in [$1, $2), with their comments, by queue ($3) and channel ($4)
-- when given; newest first, at most $5.
SELECT v.answered_at, v.queue, v.channel, v.score, v.comment, c.reference, c.case_type
FROM csat v JOIN contacts c ON c.id = v.contact_id
WHERE v.answered_at >= $1 AND v.answered_at < $2
  AND ($3::text IS NULL OR v.queue = $3)
  AND ($4::text IS NULL OR v.channel = $4)
ORDER BY v.answered_at DESC
LIMIT $5;
