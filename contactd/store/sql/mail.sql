-- Mail that cannot jam the inbox (issue 17; contactd/services/inbox.py) and downloads read in
-- slices (contactd/services/answers.py). Times come from the daemon's clock as parameters.

-- name: mail_try
-- One more try to store a mail that the database refused; how many so far, across passes
-- and restarts. $1 mailbox, $2 SHA-256 of the mail's key, $3 the error's class name, $4 now.
INSERT INTO mail_tries AS t (mailbox, key_hash, tries, last_error, tried_at)
VALUES ($1, $2, 1, $3, $4)
ON CONFLICT (mailbox, key_hash) DO UPDATE SET tries = t.tries + 1, last_error = $3, tried_at = $4
RETURNING tries;

-- name: mail_quarantine
-- The mail goes to the quarantine folder for $3 at $4. A row only the first time: staff are
-- told once, however often a failed move hands the mail over again.
INSERT INTO mail_tries AS t (mailbox, key_hash, tried_at, quarantined_at, reason)
VALUES ($1, $2, $4, $4, $3)
ON CONFLICT (mailbox, key_hash) DO UPDATE SET quarantined_at = $4, reason = $3
    WHERE t.quarantined_at IS NULL
RETURNING true;

-- name: email_contacts_from
-- E-mail contacts made for an address since $2, but contact $3 (the one being made).
SELECT count(*) FROM contacts
WHERE channel = 'email' AND lower(client_address) = lower($1) AND created_at > $2 AND id <> $3;

-- name: newest_email_contact_from
SELECT * FROM contacts
WHERE channel = 'email' AND lower(client_address) = lower($1)
ORDER BY created_at DESC, id DESC LIMIT 1;

-- name: mails_on_contact
SELECT count(*) FROM messages WHERE contact_id = $1 AND direction = 'in';

-- name: message_raw_size
-- NULL when the contact has no such message or its raw copy is gone.
SELECT octet_length(raw) FROM messages WHERE id = $1 AND contact_id = $2;

-- name: message_raw_slice
-- $4 bytes of the raw copy from byte $3 (counted from 1).
SELECT substring(raw FROM $3 FOR $4) FROM messages WHERE id = $1 AND contact_id = $2;

-- name: message_attachment
-- The $3rd attachment as described at intake (NULL if none), and whether the raw copy is there.
SELECT attachments -> $3::int AS attachment, raw IS NOT NULL AS has_raw
FROM messages WHERE id = $1 AND contact_id = $2;
