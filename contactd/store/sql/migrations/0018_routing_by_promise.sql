-- Issue 21: the router takes queued contacts by promise across queues. A contact's own
-- priority above its queue's (an appointment or assistance ticket, a priority set by staff)
-- still goes first; otherwise the earliest due_at goes first, whatever the queue's priority,
-- which only breaks ties. Strict priority (the old order) starved the low-priority queues.
-- The router's query (waiting_contacts) reads those without an own priority in this index's
-- order, and the few with one through contacts_live_idx. The old order's index serves no
-- query any more.
DROP INDEX contacts_queued_idx;
CREATE INDEX contacts_queued_idx ON contacts (due_at, priority DESC, queued_at, id)
    WHERE state = 'queued';
