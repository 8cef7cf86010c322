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
