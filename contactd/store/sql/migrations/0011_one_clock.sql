-- One clock (contactd/clock.py): every time the daemon writes comes from the clock it was
-- given, as a parameter of the statement. No column takes PostgreSQL's own now() by default
-- any more, so a statement that forgets its time fails at once instead of mixing two clocks.
-- (schema_migrations.applied_at keeps its default: it records the server's own work.)
ALTER TABLE staff ALTER COLUMN created_at DROP DEFAULT;
ALTER TABLE contacts ALTER COLUMN created_at DROP DEFAULT;
ALTER TABLE contacts ALTER COLUMN state_changed_at DROP DEFAULT;
ALTER TABLE contacts ALTER COLUMN queued_at DROP DEFAULT;
ALTER TABLE contact_events ALTER COLUMN at DROP DEFAULT;
ALTER TABLE outbox ALTER COLUMN created_at DROP DEFAULT;
ALTER TABLE outbox ALTER COLUMN next_attempt_at DROP DEFAULT;
ALTER TABLE instances ALTER COLUMN started_at DROP DEFAULT;
ALTER TABLE instances ALTER COLUMN seen_at DROP DEFAULT;
ALTER TABLE agents ALTER COLUMN state_changed_at DROP DEFAULT;
ALTER TABLE agents ALTER COLUMN idle_since DROP DEFAULT;
ALTER TABLE case_type_corrections ALTER COLUMN corrected_at DROP DEFAULT;
ALTER TABLE messages ALTER COLUMN at DROP DEFAULT;
ALTER TABLE channel_status ALTER COLUMN changed_at DROP DEFAULT;
ALTER TABLE channel_status ALTER COLUMN checked_at DROP DEFAULT;
ALTER TABLE csat ALTER COLUMN asked_at DROP DEFAULT;
ALTER TABLE signing_keys ALTER COLUMN created_at DROP DEFAULT;
