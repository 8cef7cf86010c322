-- Staff access (issue 17; contactd/store/staff.py): tokens rotated apart from re-enabling, and
-- what the desk streams check on each change. Times come from the daemon's clock as parameters.
-- Each change NOTIFYs contactd_desk, so the person's open desk streams, on every instance, end
-- at once rather than at their next poll.

-- name: rotate_staff_token
-- A new token for an active person: the old one stops working at once. A disabled person stays
-- disabled and gets none (re-enabling is its own step). $1 login, $2 the hash, $3 now.
UPDATE staff SET token_hash = $2, token_at = $3
WHERE login = $1 AND disabled_at IS NULL
RETURNING *, pg_notify('contactd_desk', id::text)::text AS notified;

-- name: enable_staff
-- A disabled person enabled again, always with a new token: whatever token they had before
-- (perhaps why they were disabled) never works again. $1 login, $2 the hash, $3 now.
UPDATE staff SET disabled_at = NULL, token_hash = $2, token_at = $3
WHERE login = $1 AND disabled_at IS NOT NULL
RETURNING *, pg_notify('contactd_desk', id::text)::text AS notified;

-- name: disable_staff
UPDATE staff SET disabled_at = coalesce(disabled_at, $2) WHERE login = $1
RETURNING *, pg_notify('contactd_desk', id::text)::text AS notified;

-- name: staff_token_hash
-- The hash of an active person's token (none if disabled): what a desk stream checks its own
-- token against on each change.
SELECT token_hash FROM staff WHERE id = $1 AND disabled_at IS NULL;
