-- Issue 18: staff sign in to sessions, tokens expire, and an audit log of who did what.
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
