-- Client satisfaction (contactd/csat.py): whom to ask, the survey rows, the answers, and the
-- key that signs the links.

-- name: csat_due
-- Contacts to ask now: done at least $1 minutes ago and within the last day (so
-- contacts_closed_at_idx reads one day's contacts, never the millions before), not a no-show
-- or a client not reached, on a channel that can be asked ($4) with an address of its kind,
-- not asked yet, and chosen for their queue ($2 codes, $3 shares) by a hash of the id: the
-- same choice on every instance and every pass (csat.chosen computes it alike). $5: at most;
-- $6: now; $7: the calling codes (like '+45') whose numbers may be texted.
SELECT c.id, c.reference, c.channel, c.language, c.client_language, c.queue, c.client_address,
       c.subject
FROM contacts c
JOIN unnest($2::text[], $3::float8[]) AS q (code, share) ON q.code = c.queue
WHERE c.closed_at > $6::timestamptz - interval '1 day'
  AND c.closed_at <= $6::timestamptz - make_interval(mins => $1)
  AND c.state = 'done'
  AND c.outcome IS DISTINCT FROM 'no_show'
  AND c.outcome IS DISTINCT FROM 'not_reached'
  AND c.channel = ANY($4::text[])
  AND CASE WHEN c.channel = 'email' THEN c.client_address ~ '^[^@\s]+@[^@\s]+$'
           ELSE c.client_address ~ '^\+[1-9][0-9]{6,14}$'
                AND EXISTS (SELECT 1 FROM unnest($7::text[]) AS p (code)
                            WHERE starts_with(c.client_address, p.code)) END
  AND ('x' || substr(md5('csat:' || c.id::text), 1, 13))::bit(52)::bigint
      < q.share * 4503599627370496  -- 2^52: the first 13 hex digits as a fraction of 1
  AND NOT EXISTS (SELECT 1 FROM csat s WHERE s.contact_id = c.id)
ORDER BY c.closed_at, c.id
LIMIT $5;

-- name: csat_ask
-- The survey row of a contact still done; nothing when it was asked already (another pass,
-- or a former leader) or was reopened meanwhile.
INSERT INTO csat (contact_id, queue, channel, via, expires_at, asked_at)
SELECT id, queue, channel, $2, $3, $4 FROM contacts WHERE id = $1 AND state = 'done'
ON CONFLICT (contact_id) DO NOTHING
RETURNING contact_id;

-- name: csat_survey
SELECT s.contact_id, s.queue, s.channel, s.expires_at, s.score, s.answered_at, c.language,
       c.client_language
FROM csat s JOIN contacts c ON c.id = s.contact_id
WHERE s.contact_id = $1;

-- name: csat_answer
-- The answer, once: of two at the same time, the second waits for the first's row lock, then
-- finds answered_at set and changes nothing. $4: now, by the daemon's clock.
UPDATE csat SET score = $2, comment = $3, answered_at = $4
WHERE contact_id = $1 AND answered_at IS NULL AND expires_at > $4
RETURNING queue, channel, answered_at;

-- name: signing_key
SELECT key FROM signing_keys WHERE name = $1;

-- name: signing_key_create
-- The first instance to need the key draws it; the others keep the one already there.
INSERT INTO signing_keys (name, key, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING;
