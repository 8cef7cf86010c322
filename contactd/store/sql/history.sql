-- A client's earlier contacts and caseworkers' notes (issue 19; contactd/store/history.py),
-- through the view contact_history (migration 0015).

-- name: client_history
-- The contacts of the same client as contact $1 (by the keyed hash of the address, which
-- stays after a purge), newest first, at most $2.
SELECT h.* FROM contact_history h
WHERE h.client_key = (SELECT client_key FROM contacts WHERE id = $1) AND h.id <> $1
ORDER BY h.created_at DESC
LIMIT $2;

-- name: client_search
-- Every contact of the client with this address ($1: E.164 or an e-mail address), newest
-- first, at most $2.
SELECT h.* FROM contact_history h
WHERE h.client_key = contactd_client_key($1)
ORDER BY h.created_at DESC
LIMIT $2;

-- name: history_entry
SELECT * FROM contact_history WHERE id = $1;

-- name: insert_note
-- $1 contact id, $2 author, $3 at, $4 text.
INSERT INTO contact_notes (contact_id, author, at, text) VALUES ($1, $2, $3, $4)
RETURNING *, pg_notify('contactd_desk', '')::text AS notified;

-- name: notes_of
SELECT * FROM contact_notes WHERE contact_id = $1 ORDER BY at, id;

-- name: set_wrap_up
UPDATE contacts SET wrap_up = $2 WHERE id = $1 RETURNING *;

-- name: report_wrap_ups
-- Contacts finished in [$1, $2) with a wrap-up code, per queue and code: why clients contact us.
SELECT queue, wrap_up, count(*) AS n
FROM contacts
WHERE closed_at >= $1 AND closed_at < $2 AND wrap_up IS NOT NULL
GROUP BY queue, wrap_up
ORDER BY queue, n DESC, wrap_up;
