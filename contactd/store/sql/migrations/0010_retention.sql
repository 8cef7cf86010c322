-- Retention (contactd/retention.py): the personal data of a contact closed more than
-- `retention.days` ago is purged, and the moment is kept. A purged contact that is reopened
-- (a new mail) and closed again has closed_at after purged_at: it is purged again.
ALTER TABLE contacts ADD COLUMN purged_at timestamptz;
-- The job's next batch on millions of contacts: only those closed and not purged since.
CREATE INDEX contacts_to_purge_idx ON contacts (closed_at)
    WHERE closed_at IS NOT NULL AND (purged_at IS NULL OR purged_at < closed_at);
-- A contact's outbox rows, found by the job without reading the whole outbox.
CREATE INDEX outbox_contact_idx ON outbox (contact_id);
-- Mail threaded onto a contact after its purge (a bounce, an automatic reply: they do not
-- reopen it), found without reading every message: only those still holding text are here.
CREATE INDEX messages_unpurged_at_idx ON messages (at)
    WHERE subject IS NOT NULL OR body IS NOT NULL OR html IS NOT NULL OR raw IS NOT NULL
       OR attachments <> '[]';
-- Likewise a satisfaction comment given after its contact was purged (a link lives up to
-- csat.link_days).
CREATE INDEX csat_comment_answered_at_idx ON csat (answered_at) WHERE comment IS NOT NULL;
