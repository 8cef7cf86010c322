-- Issue 19: a caseworker's day. A client's earlier contacts are found by a keyed hash of their
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
