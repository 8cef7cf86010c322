-- Retention (contactd/retention.py): the personal data of contacts closed more than
-- `retention.days` ago is purged in batches; every figure the statistics need stays.
-- $1 is the cut-off (now - days), $2 the most contacts or rows in one batch, $3 now.

-- name: retention_purge
-- One batch of contacts, in one statement and so one short transaction. SKIP LOCKED: a
-- second instance running the job, or a mail reopening a contact, never waits on this
-- batch nor this batch on them (a skipped contact comes in a later batch or pass). A contact
-- with a message still to send waits until the outbox has sent it or given up.
-- Kept: channel, case type, queue, state, outcome, times, agent, attempts, events, scores;
-- external_id (a call's Twilio SID, a mail's key: without it a retried webhook or a re-read
-- mail would make a second contact) and messages.message_id (a reply to an old mail must
-- still thread onto its contact).
WITH batch AS (
    SELECT c.id FROM contacts c
    WHERE c.closed_at IS NOT NULL AND (c.purged_at IS NULL OR c.purged_at < c.closed_at)
      AND c.closed_at < $1
      AND c.state IN ('done', 'abandoned', 'cancelled')
      AND NOT EXISTS (
          SELECT 1 FROM outbox o
          WHERE o.contact_id = c.id AND o.sent_at IS NULL AND o.failed_at IS NULL
      )
    ORDER BY c.closed_at
    LIMIT $2
    FOR UPDATE SKIP LOCKED
), contact AS (
    UPDATE contacts c SET client_address = NULL, subject = NULL, body = NULL, purged_at = $3
    FROM batch WHERE c.id = batch.id
    RETURNING c.id
), message AS (
    UPDATE messages m SET subject = NULL, body = NULL, html = NULL, raw = NULL, reply_to = NULL,
                          attachments = '[]'  -- their file names are the client's
    FROM batch WHERE m.contact_id = batch.id
      AND (m.subject IS NOT NULL OR m.body IS NOT NULL OR m.html IS NOT NULL
           OR m.raw IS NOT NULL OR m.attachments <> '[]')
    RETURNING m.id
), sent AS (
    -- Addresses, numbers and texts go; the kind and the times stay, and the provider's id
    -- (a Twilio SID, our own Message-ID) to match the provider's bills and logs.
    UPDATE outbox o SET
        payload = jsonb_strip_nulls(
            jsonb_build_object('purged', true, 'provider_id', o.payload -> 'provider_id')),
        last_error = NULL  -- a provider's error may name the address or number
    FROM batch WHERE o.contact_id = batch.id
      AND (o.sent_at IS NOT NULL OR o.failed_at IS NOT NULL)
      AND NOT o.payload ? 'purged'
    RETURNING o.id
), comment AS (
    UPDATE csat s SET comment = NULL
    FROM batch WHERE s.contact_id = batch.id AND s.comment IS NOT NULL
    RETURNING s.contact_id
), event AS (
    -- A reason's `why` is a fixed phrase, except after a colon: a failed message's
    -- "sms failed: <the provider's error>", which may name the number or address.
    UPDATE contact_events e
    SET reason = jsonb_set(e.reason, '{why}', to_jsonb(split_part(e.reason ->> 'why', ':', 1)))
    FROM batch WHERE e.contact_id = batch.id AND e.reason ->> 'why' LIKE '%:%'
    RETURNING e.id
), note AS (
    -- Caseworkers' notes are about the client: their text goes, who wrote when stays.
    UPDATE contact_notes n SET text = NULL
    FROM batch WHERE n.contact_id = batch.id AND n.text IS NOT NULL
    RETURNING n.id
)
SELECT (SELECT count(*) FROM contact) AS contacts,
       (SELECT count(*) FROM message) AS messages,
       (SELECT count(*) FROM sent) AS outbox,
       (SELECT count(*) FROM comment) AS comments,
       (SELECT count(*) FROM event) AS events,
       (SELECT count(*) FROM note) AS notes;

-- name: retention_purge_late_messages
-- Mail threaded onto a contact after its purge without reopening it (a bounce, an automatic
-- reply), purged once it is as old as the period itself. messages_unpurged_at_idx holds only
-- messages with text: the range before the cut-off is these few and the mail of contacts
-- still open after the whole period.
WITH late AS (
    SELECT m.id FROM messages m JOIN contacts c ON c.id = m.contact_id
    WHERE (m.subject IS NOT NULL OR m.body IS NOT NULL OR m.html IS NOT NULL
           OR m.raw IS NOT NULL OR m.attachments <> '[]')
      AND m.at < $1
      AND c.purged_at >= c.closed_at  -- purged since it last closed, and not reopened
    ORDER BY m.at
    LIMIT $2
    FOR UPDATE OF m SKIP LOCKED
), message AS (
    UPDATE messages m SET subject = NULL, body = NULL, html = NULL, raw = NULL, reply_to = NULL,
                          attachments = '[]'
    FROM late WHERE m.id = late.id
    RETURNING m.id
)
SELECT count(*) FROM message;

-- name: retention_purge_late_comments
-- A satisfaction comment given after its contact was purged (a link may be answered for
-- csat.link_days), purged once it is as old as the period itself.
WITH late AS (
    SELECT s.contact_id FROM csat s JOIN contacts c ON c.id = s.contact_id
    WHERE s.comment IS NOT NULL
      AND s.answered_at < $1
      AND c.purged_at >= c.closed_at
    ORDER BY s.answered_at
    LIMIT $2
    FOR UPDATE OF s SKIP LOCKED
), comment AS (
    UPDATE csat s SET comment = NULL FROM late WHERE s.contact_id = late.contact_id
    RETURNING s.contact_id
)
SELECT count(*) FROM comment;

-- name: retention_purge_audit
-- Audit entries older than retention.audit_days ($1 the cut-off), a batch ($2) at a time.
WITH old AS (
    SELECT id FROM audit_log WHERE at < $1 ORDER BY at LIMIT $2 FOR UPDATE SKIP LOCKED
), gone AS (
    DELETE FROM audit_log a USING old WHERE a.id = old.id RETURNING a.id
)
SELECT count(*) FROM gone;

-- name: retention_purge_sessions
-- Sessions that ended, or ran out, before the same cut-off; and failed sign-in windows.
WITH old AS (
    SELECT id FROM sessions WHERE coalesce(ended_at, expires_at) < $1
    ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED
), gone AS (
    DELETE FROM sessions s USING old WHERE s.id = old.id RETURNING s.id
), windows AS (
    DELETE FROM sign_in_failures WHERE since < $1
)
SELECT count(*) FROM gone;
