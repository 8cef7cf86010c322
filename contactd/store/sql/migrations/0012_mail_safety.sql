-- Issue 17: mail that cannot jam the inbox, and the sender from From.
-- Reply-To when it differs from From (personal data: purged with the message's text), and the
-- receiving server's verdict on the sender, e.g. {"dmarc": "fail"} (NULL: not checked).
ALTER TABLE messages ADD COLUMN reply_to text;
ALTER TABLE messages ADD COLUMN authentication jsonb;
-- Downloads read the raw copy in slices; stored uncompressed, a slice is read from its own
-- TOAST chunks instead of decompressing everything before it (mail is mostly base64 already).
ALTER TABLE messages ALTER COLUMN raw SET STORAGE EXTERNAL;
-- The tries to store each mail the database refused, across passes and restarts, and whether
-- it was quarantined; keyed by mailbox and a SHA-256 of the mail's key (its Message-ID, else
-- the mailbox, UIDVALIDITY and UID), so that no personal data is kept here.
CREATE TABLE mail_tries (
    mailbox        text NOT NULL,
    key_hash       bytea NOT NULL,
    tries          integer NOT NULL DEFAULT 0,
    last_error     text,  -- the error's class name only: its text may quote the mail
    tried_at       timestamptz NOT NULL,
    quarantined_at timestamptz,
    reason         text CHECK (reason IN ('not_stored', 'mails_per_contact')),
    PRIMARY KEY (mailbox, key_hash)
);
-- New e-mail contacts per sender in the last hour (email.contacts_per_sender_per_hour), and a
-- reference in a subject matched to its sender.
CREATE INDEX contacts_email_sender_idx ON contacts (lower(client_address), created_at)
    WHERE channel = 'email';
