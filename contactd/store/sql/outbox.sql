-- The outbox's sending (contactd/leader/outbox.py): each message leased as its send starts,
-- and what a call's send that died mid-request is checked against.

-- name: outbox_due
-- Up to $1 messages due at $2 (now), oldest first. Listed, not claimed: each is leased by
-- outbox_claim only as its send starts, so the lease covers that send and not the wait for
-- the batch before it.
SELECT id FROM outbox
WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $2
ORDER BY next_attempt_at, id
LIMIT $1;

-- name: outbox_claim
-- Message $1, leased for $2 seconds from $3 (now) if it is still due: if this daemon dies
-- while sending, the lease runs out and the message is sent again (a call: after asking
-- Twilio). Another instance may have claimed or sent it since it was listed: the row lock
-- makes the later of two claims wait and then find it no longer due.
UPDATE outbox SET attempts = attempts + 1,
                  next_attempt_at = $3::timestamptz + make_interval(secs => $2)
WHERE id = $1 AND sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $3
RETURNING id, contact_id, kind, payload, idempotency_key, attempts, last_error;

-- name: outbox_untracked
-- The first of the provider's ids $1 (as it listed them, newest first) that no message
-- records as sent: what a send that died mid-request left behind. Rare (a lease that ran out),
-- so no index of its own.
SELECT t.id FROM unnest($1::text[]) WITH ORDINALITY AS t (id, n)
WHERE NOT EXISTS (SELECT 1 FROM outbox o WHERE o.payload ->> 'provider_id' = t.id)
ORDER BY t.n
LIMIT 1;

-- name: outbox_contact
-- The contact of a call's message, locked until the transaction ends (none: the statement),
-- so that whether it is still in the call's acceptance holds while the outbox acts on it.
SELECT * FROM contacts WHERE id = $1 FOR UPDATE;
