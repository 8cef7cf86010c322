-- The classifier's top guesses for a contact (shown to staff in triage), and the case types
-- staff corrected: `contactd train --with-feedback` learns from them.
ALTER TABLE contacts ADD COLUMN guesses jsonb;

CREATE TABLE case_type_corrections (
    -- One per contact: a later correction replaces an earlier one.
    contact_id    bigint PRIMARY KEY REFERENCES contacts (id) ON DELETE CASCADE,
    from_type     text NOT NULL,
    from_source   text NOT NULL,
    confidence    real,
    to_type       text NOT NULL,
    actor         text NOT NULL,
    corrected_at  timestamptz NOT NULL DEFAULT now()
);
