-- The leader's statistics pass reads only today's contacts: those answered or closed today
-- (and the live ones, which contacts_live_idx finds), never the millions finished before.
CREATE INDEX contacts_answered_at_idx ON contacts (answered_at) WHERE answered_at IS NOT NULL;
CREATE INDEX contacts_first_response_at_idx ON contacts (first_response_at)
    WHERE first_response_at IS NOT NULL;
-- The arrivals of the last half hour per queue: the live arrival rate for Erlang staffing.
CREATE INDEX contacts_created_at_idx ON contacts (created_at);
-- Callbacks by the end of their window: callback compliance per day.
CREATE INDEX contacts_callback_due_idx ON contacts (due_at) WHERE channel = 'callback';
