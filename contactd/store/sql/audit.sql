-- The audit log (issue 18; contactd/store/audit.py): who did what, and who read whose data.

-- name: insert_audit
-- $1 at, $2 actor, $3 action, $4 target, $5 reference, $6 details.
INSERT INTO audit_log (at, actor, action, target, reference, details)
VALUES ($1, $2, $3, $4, $5, $6::jsonb);

-- name: audit_entries
-- Entries from $1 up to (not including) $2, newest first, filtered by actor ($3), action ($4)
-- and reference ($5) when given; at most $6, before id $7 (a page's last id; null: the start).
SELECT * FROM audit_log
WHERE at >= $1 AND at < $2
  AND ($3::text IS NULL OR actor = $3)
  AND ($4::text IS NULL OR action = $4)
  AND ($5::text IS NULL OR reference = $5)
  AND ($7::bigint IS NULL OR id < $7)
ORDER BY id DESC
LIMIT $6;
