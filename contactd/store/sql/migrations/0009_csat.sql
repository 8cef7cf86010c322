-- Client satisfaction: a share of finished contacts is asked once, by SMS or e-mail, how
-- satisfied the client was; the answer is kept with the contact.
CREATE TABLE csat (
    contact_id  bigint PRIMARY KEY REFERENCES contacts (id),
    queue       text NOT NULL,
    channel     text NOT NULL,
    asked_at    timestamptz NOT NULL DEFAULT now(),
    via         text NOT NULL CHECK (via IN ('sms', 'email')),
    expires_at  timestamptz NOT NULL,
    score       smallint CHECK (score BETWEEN 1 AND 5),
    -- Personal data: purged with the contact's.
    comment     text,
    answered_at timestamptz
);
-- The statistics read the answers of a day.
CREATE INDEX csat_answered_at_idx ON csat (answered_at) WHERE answered_at IS NOT NULL;

-- Secret keys shared by every instance (the one that signs survey links), drawn at random by
-- the first instance that needs one. A secret: never logged, never sent.
CREATE TABLE signing_keys (
    name       text PRIMARY KEY,
    key        bytea NOT NULL CHECK (length(key) >= 32),
    created_at timestamptz NOT NULL DEFAULT now()
);

-- The survey e-mail is kept with the conversation like every mail contactd sends, so that a
-- bounce of it is known as ours and not taken for a new contact.
ALTER TABLE messages DROP CONSTRAINT messages_kind_check;
ALTER TABLE messages ADD CONSTRAINT messages_kind_check
    CHECK (kind IN ('mail', 'acknowledgement', 'answer', 'bounce', 'survey'));
