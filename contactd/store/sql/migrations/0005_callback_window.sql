-- A contact not to be offered before a time: the start of a booked callback's window.
ALTER TABLE contacts ADD COLUMN not_before timestamptz;

-- Callbacks by number: a second booking is merged into the waiting one, and bookings per
-- number are limited.
CREATE INDEX contacts_callback_number_idx ON contacts (client_address) WHERE channel = 'callback';
