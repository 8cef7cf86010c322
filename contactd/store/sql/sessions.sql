-- Staff sessions (issue 18; contactd/store/sessions.py). The cookie holds a random key; only
-- its SHA-256 is here. Times come from the daemon's clock as parameters.

-- name: insert_session
-- $1 key hash, $2 staff id, $3 via, $4 CSRF token, $5 now, $6 the absolute end.
INSERT INTO sessions (key_hash, staff_id, via, csrf, created_at, last_seen_at, expires_at)
VALUES ($1, $2, $3, $4, $5, $5, $6)
RETURNING id;

-- name: live_session
-- The session of a cookie's key, with its person, if it still lives at $2 (now): not ended,
-- before its end, seen within the idle time ($3 seconds), its person enabled. Marked seen
-- now only if last seen more than a minute ago: a write a minute, not one per request.
WITH found AS (
    SELECT s.id AS session_id, s.via, s.csrf, s.created_at AS session_created_at,
           s.last_seen_at AS seen, s.expires_at, p.*
    FROM sessions s JOIN staff p ON p.id = s.staff_id AND p.disabled_at IS NULL
    WHERE s.key_hash = $1 AND s.ended_at IS NULL AND s.expires_at > $2
      AND s.last_seen_at > $2::timestamptz - make_interval(secs => $3::double precision)
), touched AS (
    UPDATE sessions SET last_seen_at = $2
    FROM found
    WHERE sessions.id = found.session_id AND found.seen < $2::timestamptz - interval '1 minute'
    RETURNING sessions.id
)
SELECT found.*, CASE WHEN EXISTS (SELECT 1 FROM touched) THEN $2::timestamptz
                     ELSE found.seen END AS last_seen_at
FROM found;

-- name: end_session
-- $1 session id, $2 now, $3 why; $4 the person it must belong to (null: anyone's, an admin).
UPDATE sessions SET ended_at = $2, ended_by = $3
WHERE id = $1 AND ended_at IS NULL AND ($4::bigint IS NULL OR staff_id = $4)
RETURNING id, staff_id, pg_notify('contactd_desk', staff_id::text)::text AS notified;

-- name: end_sessions_of
-- Every live session of a person: sign-out everywhere, or disabling. $1 staff id, $2 now, $3 why.
WITH ended AS (
    UPDATE sessions SET ended_at = $2, ended_by = $3
    WHERE staff_id = $1 AND ended_at IS NULL
    RETURNING id
)
SELECT count(*) AS ended, pg_notify('contactd_desk', $1::text)::text AS notified FROM ended;

-- name: live_sessions
-- Every live session at $1 (now), with whose it is; $2 the idle time in seconds.
SELECT s.id, s.via, s.created_at, s.last_seen_at, s.expires_at, p.login, p.name, p.role
FROM sessions s JOIN staff p ON p.id = s.staff_id AND p.disabled_at IS NULL
WHERE s.ended_at IS NULL AND s.expires_at > $1
  AND s.last_seen_at > $1::timestamptz - make_interval(secs => $2::double precision)
ORDER BY s.last_seen_at DESC;

-- name: sign_in_failed
-- Count a failed sign-in for a login: a new window if the last began $3 seconds or more ago.
-- $1 login, $2 now, $3 the window in seconds. Returns the failures in the window now.
INSERT INTO sign_in_failures AS f (login, failures, since) VALUES ($1, 1, $2)
ON CONFLICT (login) DO UPDATE SET
    failures = CASE WHEN f.since <= $2::timestamptz - make_interval(secs => $3::double precision)
                    THEN 1 ELSE f.failures + 1 END,
    since = CASE WHEN f.since <= $2::timestamptz - make_interval(secs => $3::double precision)
                 THEN $2 ELSE f.since END
RETURNING failures, since;

-- name: sign_in_failures
-- The failures in a login's window now ($2), and when the window began; none if it has passed.
SELECT failures, since FROM sign_in_failures
WHERE login = $1 AND since > $2::timestamptz - make_interval(secs => $3::double precision);

-- name: credentials_of
-- What may follow a person's desk at $2 (now): the hash of their token, if it still works, and
-- of each live session's key ($3: the idle time in seconds); none once they are disabled.
SELECT p.token_hash AS hash FROM staff p
WHERE p.id = $1 AND p.disabled_at IS NULL AND p.token_hash IS NOT NULL
  AND (p.token_expires_at IS NULL OR p.token_expires_at > $2)
UNION ALL
SELECT s.key_hash FROM sessions s JOIN staff p ON p.id = s.staff_id AND p.disabled_at IS NULL
WHERE s.staff_id = $1 AND s.ended_at IS NULL AND s.expires_at > $2
  AND s.last_seen_at > $2::timestamptz - make_interval(secs => $3::double precision);
