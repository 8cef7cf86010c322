-- Contacts, their event log, staff, the outbox, and the instances that run on the database.

CREATE TABLE staff (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    login       text NOT NULL UNIQUE CHECK (login ~ '^[a-z0-9][a-z0-9._-]{0,62}$'),
    name        text NOT NULL,
    role        text NOT NULL CHECK (role IN ('agent', 'frontdesk', 'supervisor', 'admin')),
    token_hash  bytea UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now(),
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
    created_at       timestamptz NOT NULL DEFAULT now(),
    state_changed_at timestamptz NOT NULL DEFAULT now(),
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
    -- A retried webhook or a re-read mail must never make a second contact.
    CONSTRAINT contacts_channel_external_id_key UNIQUE (channel, external_id)
);

-- Only live contacts are routed; keep the routing scan small at millions of closed ones.
CREATE INDEX contacts_live_idx ON contacts (queue, priority DESC, due_at)
    WHERE state IN ('queued', 'offered', 'active');
CREATE INDEX contacts_agent_live_idx ON contacts (agent_id) WHERE state IN ('offered', 'active');
CREATE INDEX contacts_closed_at_idx ON contacts (closed_at) WHERE closed_at IS NOT NULL;

CREATE TABLE contact_events (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    contact_id  bigint NOT NULL REFERENCES contacts (id),
    at          timestamptz NOT NULL DEFAULT now(),
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
    created_at      timestamptz NOT NULL DEFAULT now(),
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
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
    started_at  timestamptz NOT NULL DEFAULT now(),
    seen_at     timestamptz NOT NULL DEFAULT now(),
    is_leader   boolean NOT NULL DEFAULT false
);
