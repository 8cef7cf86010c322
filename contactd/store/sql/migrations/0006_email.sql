-- The e-mails of a contact, in and out: a reply is threaded onto the contact whose message it
-- names, the desk shows the conversation, and the raw copy of what came in is kept.
CREATE TABLE messages (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    contact_id  bigint NOT NULL REFERENCES contacts (id),
    direction   text NOT NULL CHECK (direction IN ('in', 'out')),
    kind        text NOT NULL CHECK (kind IN ('mail', 'acknowledgement', 'answer', 'bounce')),
    -- The Message-ID header ('<...>'): replies name it in In-Reply-To and References.
    message_id  text,
    -- An incoming message's key (its Message-ID, else mailbox, UIDVALIDITY and UID): a
    -- message read again is never stored twice.
    external_id text UNIQUE,
    mailbox     text,
    at          timestamptz NOT NULL DEFAULT now(),
    staff_id    bigint REFERENCES staff (id),
    -- Personal data: purged with the contact's.
    subject     text,
    body        text,
    html        text,
    attachments jsonb NOT NULL DEFAULT '[]',
    raw         bytea
);
CREATE INDEX messages_contact_idx ON messages (contact_id, id);
CREATE INDEX messages_message_id_idx ON messages (message_id) WHERE message_id IS NOT NULL;

-- The first answer sent to the client: the e-mail goal's first-response time.
ALTER TABLE contacts ADD COLUMN first_response_at timestamptz;

-- Acknowledgements per address in a time window: the limit that stops a mail loop.
CREATE INDEX outbox_email_to_idx ON outbox ((payload ->> 'to'), created_at) WHERE kind = 'email';

-- The state of each channel's connection (a mailbox), written by the leader that runs it,
-- so that every instance can show it.
CREATE TABLE channel_status (
    name       text PRIMARY KEY,  -- 'mailbox:<name>'
    state      text NOT NULL,
    detail     text,
    changed_at timestamptz NOT NULL DEFAULT now(),
    checked_at timestamptz NOT NULL DEFAULT now(),
    instance   text
);
