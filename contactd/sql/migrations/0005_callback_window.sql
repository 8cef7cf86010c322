-- A contact not to be offered before a time: the start of a booked callback's window.
ALTER TABLE contacts ADD COLUMN not_before timestamptz;
