-- The current schema in one file: what all migrations together produce.
-- tests/integration/test_migrations.py proves the two are equal; change both together.

CREATE TABLE schema_migrations (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE staff (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    login       text NOT NULL UNIQUE CHECK (login ~ '^[a-z0-9][a-z0-9._-]{0,62}$'),
    name        text NOT NULL,
    role        text NOT NULL CHECK (role IN ('agent', 'frontdesk', 'supervisor', 'admin')),
    token_hash  bytea UNIQUE,
    created_at  timestamptz NOT NULL,
    token_at    timestamptz,
    disabled_at timestamptz
);

CREATE TABLE contacts (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    reference        text NOT NULL UNIQUE,
    channel          text NOT NULL CHECK (channel IN ('call', 'callback', 'email', 'ticket')),
    external_id      text,
    case_type        text NOT NULL,
    case_type_source text NOT NULL CHECK (case_type_source IN ('ivr', 'classifier', 'staff', 'form')),
    confidence       real CHECK (confidence BETWEEN 0 AND 1),
    language         text NOT NULL CHECK (language IN ('da', 'en')),
    queue            text NOT NULL,
    priority         integer NOT NULL DEFAULT 0,
    state            text NOT NULL DEFAULT 'queued'
                     CHECK (state IN ('queued', 'offered', 'active', 'done', 'abandoned', 'cancelled')),
    created_at       timestamptz NOT NULL,
    state_changed_at timestamptz NOT NULL,
    answered_at      timestamptz,
    closed_at        timestamptz,
    due_at           timestamptz NOT NULL,
    -- Personal data: purged from closed contacts after the retention period.
    client_address   text,
    subject          text,
    body             text,
    agent_id         bigint REFERENCES staff (id),
    attempts         integer NOT NULL DEFAULT 0,
    outcome          text,
    -- The moment the contact entered its current queue: its wait widens the skill it needs.
    queued_at        timestamptz NOT NULL,
    -- The agents who declined, let expire or transferred it: not offered to them again.
    passed_by        bigint[] NOT NULL DEFAULT '{}',
    -- The classifier's top guesses, [{"case_type", "confidence"}], shown to staff in triage.
    guesses          jsonb,
    -- Not offered before this time: the start of a booked callback's window.
    not_before       timestamptz,
    -- The first answer sent to the client: the e-mail goal's first-response time.
    first_response_at timestamptz,
    -- A retried webhook or a re-read mail must never make a second contact.
    CONSTRAINT contacts_channel_external_id_key UNIQUE (channel, external_id)
);

-- Only live contacts are routed; keep the routing scan small at millions of closed ones.
CREATE INDEX contacts_live_idx ON contacts (queue, priority DESC, due_at)
    WHERE state IN ('queued', 'offered', 'active');
CREATE INDEX contacts_agent_live_idx ON contacts (agent_id) WHERE state IN ('offered', 'active');
CREATE INDEX contacts_closed_at_idx ON contacts (closed_at) WHERE closed_at IS NOT NULL;
-- Callbacks by number: a second booking is merged into the waiting one, and bookings per
-- number are limited.
CREATE INDEX contacts_callback_number_idx ON contacts (client_address) WHERE channel = 'callback';

CREATE TABLE contact_events (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    contact_id  bigint NOT NULL REFERENCES contacts (id),
    at          timestamptz NOT NULL,
    action      text NOT NULL,
    from_state  text,
    to_state    text NOT NULL,
    actor       text NOT NULL,
    reason      jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX contact_events_contact_idx ON contact_events (contact_id, id);
CREATE INDEX contact_events_at_idx ON contact_events (at);

-- Side effects (mail, calls, SMS) written with the state change and sent by the leader.
CREATE TABLE outbox (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    contact_id      bigint REFERENCES contacts (id),
    kind            text NOT NULL,
    payload         jsonb NOT NULL,
    idempotency_key text NOT NULL UNIQUE,
    created_at      timestamptz NOT NULL,
    next_attempt_at timestamptz NOT NULL,
    attempts        integer NOT NULL DEFAULT 0,
    sent_at         timestamptz,
    failed_at       timestamptz,
    last_error      text
);
CREATE INDEX outbox_pending_idx ON outbox (next_attempt_at) WHERE sent_at IS NULL AND failed_at IS NULL;

-- Every running daemon, so operators can see which one leads.
CREATE TABLE instances (
    id          text PRIMARY KEY,
    hostname    text NOT NULL,
    pid         integer NOT NULL,
    version     text NOT NULL,
    started_at  timestamptz NOT NULL,
    seen_at     timestamptz NOT NULL,
    is_leader   boolean NOT NULL DEFAULT false
);

-- The router's scan (migration 0018): queued contacts by promise, the earliest due_at first,
-- the order of all those without a priority of their own above their queue's.
CREATE INDEX contacts_queued_idx ON contacts (due_at, priority DESC, queued_at, id)
    WHERE state = 'queued';

CREATE TABLE agents (
    staff_id         bigint PRIMARY KEY REFERENCES staff (id),
    skills           jsonb NOT NULL DEFAULT '{}',  -- {"family": 4, "visa": 2}: levels 1-5
    languages        text[] NOT NULL DEFAULT '{da}',
    capacity         jsonb NOT NULL DEFAULT '{"call": 1, "callback": 1, "email": 3, "ticket": 1}',
    counter          text,
    phone            text,
    state            text NOT NULL DEFAULT 'offline'
                     CHECK (state IN ('offline', 'available', 'away', 'wrap_up')),
    state_changed_at timestamptz NOT NULL,
    idle_since       timestamptz NOT NULL,
    missed_offers    integer NOT NULL DEFAULT 0
);
CREATE INDEX agents_available_idx ON agents (staff_id) WHERE state = 'available';

CREATE TABLE offers (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    contact_id  bigint NOT NULL REFERENCES contacts (id),
    agent_id    bigint NOT NULL REFERENCES staff (id),
    offered_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    reason      jsonb NOT NULL,
    outcome     text CHECK (outcome IN ('accepted', 'declined', 'expired', 'withdrawn')),
    decided_at  timestamptz
);
-- A contact has at most one open offer: the last guard against offering it twice.
CREATE UNIQUE INDEX offers_open_contact_idx ON offers (contact_id) WHERE outcome IS NULL;
CREATE INDEX offers_open_expiry_idx ON offers (expires_at) WHERE outcome IS NULL;
CREATE INDEX offers_agent_idx ON offers (agent_id, offered_at);

-- The case types staff corrected: `contactd train --with-feedback` learns from them.
CREATE TABLE case_type_corrections (
    -- One per contact: a later correction replaces an earlier one.
    contact_id    bigint PRIMARY KEY REFERENCES contacts (id) ON DELETE CASCADE,
    from_type     text NOT NULL,
    from_source   text NOT NULL,
    confidence    real,
    to_type       text NOT NULL,
    actor         text NOT NULL,
    corrected_at  timestamptz NOT NULL
);

-- The e-mails of a contact, in and out: a reply is threaded onto the contact whose message it
-- names, the desk shows the conversation, and the raw copy of what came in is kept.
CREATE TABLE messages (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    contact_id  bigint NOT NULL REFERENCES contacts (id),
    direction   text NOT NULL CHECK (direction IN ('in', 'out')),
    kind        text NOT NULL CHECK (kind IN ('mail', 'acknowledgement', 'answer', 'bounce', 'survey')),
    -- The Message-ID header ('<...>'): replies name it in In-Reply-To and References.
    message_id  text,
    -- An incoming message's key (its Message-ID, else mailbox, UIDVALIDITY and UID): a
    -- message read again is never stored twice.
    external_id text UNIQUE,
    mailbox     text,
    at          timestamptz NOT NULL,
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

-- Acknowledgements per address in a time window: the limit that stops a mail loop.
CREATE INDEX outbox_email_to_idx ON outbox ((payload ->> 'to'), created_at) WHERE kind = 'email';

-- The state of each channel's connection (a mailbox), written by the leader that runs it,
-- so that every instance can show it.
CREATE TABLE channel_status (
    name       text PRIMARY KEY,  -- 'mailbox:<name>'
    state      text NOT NULL,
    detail     text,
    changed_at timestamptz NOT NULL,
    checked_at timestamptz NOT NULL,
    instance   text
);

-- Service-centre tickets: a number per queue and day, counted in the database so that any
-- number of daemons issue them without gaps or repeats.
-- Counted per letter, not per queue: a letter moved to another queue during the day goes on
-- from where it was, so a number is never given twice.
CREATE TABLE ticket_days (
    letter text NOT NULL,
    day    date NOT NULL,
    last   integer NOT NULL,
    PRIMARY KEY (letter, day)
);

CREATE TABLE tickets (
    contact_id  bigint PRIMARY KEY REFERENCES contacts (id),
    number      text NOT NULL,  -- 'A001': the queue's letter and the day's count
    day         date NOT NULL,
    queue       text NOT NULL,  -- the queue that numbered it (a transfer keeps the number)
    issued_by   bigint REFERENCES staff (id),
    calls       integer NOT NULL DEFAULT 0,
    called_at   timestamptz,
    counter     text,
    notified_at timestamptz,    -- the SMS that the visitor's turn is near
    UNIQUE (day, number)
);
CREATE INDEX tickets_called_idx ON tickets (day, called_at DESC) WHERE called_at IS NOT NULL;

-- The leader's statistics pass reads only today's contacts: those answered or closed today
-- (and the live ones, which contacts_live_idx finds), never the millions finished before.
CREATE INDEX contacts_answered_at_idx ON contacts (answered_at) WHERE answered_at IS NOT NULL;
CREATE INDEX contacts_first_response_at_idx ON contacts (first_response_at)
    WHERE first_response_at IS NOT NULL;
-- The arrivals of the last half hour per queue: the live arrival rate for Erlang staffing.
CREATE INDEX contacts_created_at_idx ON contacts (created_at);
-- Callbacks by the end of their window: callback compliance per day.
CREATE INDEX contacts_callback_due_idx ON contacts (due_at) WHERE channel = 'callback';

-- Client satisfaction: a share of finished contacts is asked once, by SMS or e-mail, how
-- satisfied the client was; the answer is kept with the contact.
CREATE TABLE csat (
    contact_id  bigint PRIMARY KEY REFERENCES contacts (id),
    queue       text NOT NULL,
    channel     text NOT NULL,
    asked_at    timestamptz NOT NULL,
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
    created_at timestamptz NOT NULL
);

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

-- Issue 17, mail that cannot jam the inbox (migration 0012): Reply-To when it differs from
-- From (personal data: purged with the message's text), and the receiving server's verdict
-- on the sender, e.g. {"dmarc": "fail"} (NULL: not checked).
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

-- Issue 18 (migration 0013): staff sign in to sessions, tokens expire, and an audit log of who did what.
-- A personal token's end (NULL: issued before tokens expired, or by a test's own helper).
ALTER TABLE staff ADD COLUMN token_expires_at timestamptz;
-- Where a person's sign-in came from: a token exchanged once, or the agency's OpenID provider
-- (whose subject is kept, so a renamed login at the provider is the same person here).
ALTER TABLE staff ADD COLUMN oidc_subject text UNIQUE;
-- A browser's session: the cookie holds a random key, the table only its SHA-256. It ends at
-- `expires_at` (absolute), after `auth.session_idle_minutes` without a request, when its
-- person signs out (here or everywhere), is disabled, or an admin ends it.
CREATE TABLE sessions (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key_hash     bytea NOT NULL UNIQUE,
    staff_id     bigint NOT NULL REFERENCES staff (id),
    via          text NOT NULL CHECK (via IN ('token', 'oidc')),
    csrf         text NOT NULL,  -- sent back in X-CSRF-Token on every change the page makes
    created_at   timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    ended_at     timestamptz,
    ended_by     text  -- 'signed_out', 'everywhere', 'admin:<login>', 'disabled'
);
CREATE INDEX sessions_live_idx ON sessions (staff_id) WHERE ended_at IS NULL;
-- Failed sign-ins per account, all instances together (the per-address count is each
-- instance's own): a window's start and its count.
CREATE TABLE sign_in_failures (
    login    text PRIMARY KEY,
    failures integer NOT NULL,
    since    timestamptz NOT NULL
);
-- Who did what: staff actions and reads of a client's personal data. No message text, no
-- address, no token: the actor's and target's logins, the contact's reference, and codes.
CREATE TABLE audit_log (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at        timestamptz NOT NULL,
    actor     text NOT NULL,  -- a staff login, or 'cli' / 'system'
    action    text NOT NULL,
    target    text,           -- a staff login, a calendar, a queue
    reference text,           -- the contact's reference, for reads of personal data
    details   jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_at_idx ON audit_log (at);

-- Issue 18 (migration 0014): a calendar closed for a while (a staff meeting, a power cut), added while running.
-- Every instance loads them into its calendars and reloads a calendar's on the notification
-- contactd_calendars. A cancelled closure stays, for the record.
CREATE TABLE calendar_closures (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    calendar     text NOT NULL,
    starts_at    timestamptz NOT NULL,
    ends_at      timestamptz NOT NULL CHECK (ends_at > starts_at),
    reason       text NOT NULL,  -- staff's words for staff ("Personalemøde"); no client data
    created_by   text NOT NULL,  -- a staff login
    created_at   timestamptz NOT NULL,
    cancelled_at timestamptz,
    cancelled_by text
);
CREATE INDEX calendar_closures_live_idx ON calendar_closures (calendar, ends_at)
    WHERE cancelled_at IS NULL;

-- Issue 19 (migration 0015): a caseworker's day. A client's earlier contacts are found by a keyed hash of their
-- address (phone number in E.164 or e-mail address), which stays after retention purges the
-- address, so a purged contact still shows in the history as purged. The key is drawn at random
-- here, once, and never leaves the database; without it the hash cannot be turned back into a
-- number by trying them all.
INSERT INTO signing_keys (name, key, created_at)
VALUES ('client_key', uuid_send(gen_random_uuid()) || uuid_send(gen_random_uuid()),
        timestamptz 'epoch')  -- made by the migration, not at a moment of the daemon's clock
ON CONFLICT (name) DO NOTHING;

CREATE FUNCTION contactd_client_key(address text) RETURNS bytea
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT sha256((SELECT key FROM signing_keys WHERE name = 'client_key')
                  || convert_to(lower(btrim(address)), 'UTF8'))
$$;

ALTER TABLE contacts ADD COLUMN client_key bytea;
CREATE FUNCTION contactd_set_client_key() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- Set from the address when there is one; kept when the address is purged (set to NULL).
    IF NEW.client_address IS NOT NULL THEN
        NEW.client_key := contactd_client_key(NEW.client_address);
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER contacts_client_key BEFORE INSERT OR UPDATE OF client_address ON contacts
    FOR EACH ROW EXECUTE FUNCTION contactd_set_client_key();
UPDATE contacts SET client_key = contactd_client_key(client_address)
WHERE client_address IS NOT NULL;
CREATE INDEX contacts_client_key_idx ON contacts (client_key, created_at DESC)
    WHERE client_key IS NOT NULL;

-- Why the client contacted us, in the queue's own terms (the queue's wrap_up codes), set when
-- a caseworker finishes the contact.
ALTER TABLE contacts ADD COLUMN wrap_up text;

-- Caseworkers' notes on a contact: personal data, purged with the contact's.
CREATE TABLE contact_notes (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    contact_id bigint NOT NULL REFERENCES contacts (id),
    author     text NOT NULL,  -- a staff login
    at         timestamptz NOT NULL,
    text       text            -- NULL once purged
);
CREATE INDEX contact_notes_contact_idx ON contact_notes (contact_id, at);

-- A contact as a client's history shows it: no address or text, who handled it, its notes.
CREATE VIEW contact_history AS
SELECT c.id, c.client_key, c.reference, c.channel, c.case_type, c.queue, c.state, c.outcome,
       c.wrap_up, c.created_at, c.closed_at, c.purged_at IS NOT NULL AS purged,
       s.login AS handled_by,
       (SELECT coalesce(jsonb_agg(jsonb_build_object(
                   'author', n.author, 'at', n.at, 'text', n.text) ORDER BY n.at), '[]')
        FROM contact_notes n WHERE n.contact_id = c.id) AS notes
FROM contacts c LEFT JOIN staff s ON s.id = c.agent_id;

-- A live call's phone legs in its Twilio conference: the caseworker's and a colleague consulted.
CREATE TABLE call_legs (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    contact_id   bigint NOT NULL REFERENCES contacts (id),
    acceptance   text NOT NULL,  -- the contact's acceptance the leg serves (channels.ports)
    role         text NOT NULL CHECK (role IN ('agent', 'consult')),
    agent_id     bigint NOT NULL REFERENCES staff (id),
    room         text NOT NULL,  -- the conference's friendly name
    call_sid     text,           -- Twilio's sid of the leg, from its first webhook
    started_at   timestamptz NOT NULL,
    answered_at  timestamptz,
    ended_at     timestamptz
);
CREATE INDEX call_legs_contact_idx ON call_legs (contact_id, id);
-- A colleague being consulted holds a call as much as one who talks to a caller.
CREATE INDEX call_legs_consulting_idx ON call_legs (agent_id)
    WHERE role = 'consult' AND ended_at IS NULL;
-- One consultation at a time per call.
CREATE UNIQUE INDEX call_legs_one_consult_idx ON call_legs (contact_id)
    WHERE role = 'consult' AND ended_at IS NULL;

-- The language a client reads, when not the contact's own (Danish or English): what contactd
-- writes to the client itself is in it when the agency serves it; NULL: the contact's language.
ALTER TABLE contacts ADD COLUMN client_language text
    CHECK (client_language ~ '^[a-z]{2,3}(_[A-Z]{2})?$');

-- Issue 22 (migration 0019): the improvement report's mails, one row per kind and period, so
-- that each period is mailed once whichever instance leads.
CREATE TABLE improvement_mailings (
    kind        text NOT NULL CHECK (kind IN ('daily', 'weekly')),
    first_day   date NOT NULL,
    recipients  integer NOT NULL,
    enqueued_at timestamptz NOT NULL,
    PRIMARY KEY (kind, first_day)
);

-- 0020: when the contact was last passed on; passed_by counts for routing.passed_over_seconds
-- after it.
ALTER TABLE contacts ADD COLUMN passed_at timestamptz;
