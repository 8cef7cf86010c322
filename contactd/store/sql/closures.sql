-- Closed periods added while running (issue 18; contactd/store/closures.py).

-- name: insert_closure
-- $1 calendar, $2 start, $3 end, $4 reason, $5 by whom, $6 now.
INSERT INTO calendar_closures (calendar, starts_at, ends_at, reason, created_by, created_at)
VALUES ($1, $2, $3, $4, $5, $6)
RETURNING *, pg_notify('contactd_calendars', calendar)::text AS notified;

-- name: cancel_closure
-- $1 calendar, $2 id, $3 by whom, $4 now.
UPDATE calendar_closures SET cancelled_at = $4, cancelled_by = $3
WHERE calendar = $1 AND id = $2 AND cancelled_at IS NULL
RETURNING *, pg_notify('contactd_calendars', calendar)::text AS notified;

-- name: live_closures
-- Every closure not cancelled that ended after $1 (a year back: the figures of past days count
-- business time with them too), by calendar and start.
SELECT * FROM calendar_closures
WHERE cancelled_at IS NULL AND ends_at > $1
ORDER BY calendar, starts_at;
