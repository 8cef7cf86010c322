-- Staff access (issue 17; contactd/store/staff.py): tokens rotated apart from re-enabling, and
-- what the desk streams check on each change. Times come from the daemon's clock as parameters.
-- Each change NOTIFYs contactd_desk, so the person's open desk streams, on every instance, end
-- at once rather than at their next poll.

-- name: rotate_staff_token
-- A new token for an active person: the old one stops working at once. A disabled person stays
-- disabled and gets none (re-enabling is its own step). $1 login, $2 the hash, $3 now, $4 the
-- token's end (null: none).
UPDATE staff SET token_hash = $2, token_at = $3, token_expires_at = $4
WHERE login = $1 AND disabled_at IS NULL
RETURNING *, pg_notify('contactd_desk', id::text)::text AS notified;

-- name: enable_staff
-- A disabled person enabled again, always with a new token: whatever token they had before
-- (perhaps why they were disabled) never works again. $1 login, $2 the hash, $3 now, $4 the
-- token's end.
UPDATE staff SET disabled_at = NULL, token_hash = $2, token_at = $3, token_expires_at = $4
WHERE login = $1 AND disabled_at IS NOT NULL
RETURNING *, pg_notify('contactd_desk', id::text)::text AS notified;

-- name: disable_staff
UPDATE staff SET disabled_at = coalesce(disabled_at, $2) WHERE login = $1
RETURNING *, pg_notify('contactd_desk', id::text)::text AS notified;

-- name: revoke_staff_token
-- The person's token stops working; they keep their sessions and may sign in by OpenID.
UPDATE staff SET token_hash = NULL, token_at = $2, token_expires_at = NULL WHERE login = $1
RETURNING *, pg_notify('contactd_desk', id::text)::text AS notified;

-- name: change_staff
-- $1 login, $2 the new name (null: kept), $3 the new role (null: kept).
UPDATE staff SET name = coalesce($2, name), role = coalesce($3, role) WHERE login = $1
RETURNING *, pg_notify('contactd_desk', id::text)::text AS notified;

-- name: staff_by_oidc_subject
SELECT * FROM staff WHERE oidc_subject = $1;

-- name: upsert_oidc_staff
-- A person signing in through the OpenID provider: found by the provider's subject, else by
-- login (an account an admin made before, not yet linked); made on first sign-in. Name and
-- role follow the provider's claims at each sign-in. $1 subject, $2 login, $3 name, $4 role,
-- $5 now.
INSERT INTO staff (login, name, role, created_at, oidc_subject)
VALUES ($2, $3, $4, $5, $1)
ON CONFLICT (login) DO UPDATE SET
    name = EXCLUDED.name, role = EXCLUDED.role, oidc_subject = EXCLUDED.oidc_subject
WHERE staff.oidc_subject IS NULL OR staff.oidc_subject = EXCLUDED.oidc_subject
RETURNING *;
