-- Issue 22: the improvement report is mailed on a schedule (contactd/leader/improvement_mail.py).
-- One row per kind and period, written in the transaction that puts its mails in the outbox:
-- each period is mailed once, whichever instance leads and however often it starts.
CREATE TABLE improvement_mailings (
    kind        text NOT NULL CHECK (kind IN ('daily', 'weekly')),
    first_day   date NOT NULL,
    recipients  integer NOT NULL,
    enqueued_at timestamptz NOT NULL,
    PRIMARY KEY (kind, first_day)
);
