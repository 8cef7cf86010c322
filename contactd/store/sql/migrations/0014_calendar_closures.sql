-- Issue 18: a calendar closed for a while (a staff meeting, a power cut), added while running.
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
