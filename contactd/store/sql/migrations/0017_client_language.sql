-- Issue 20: the language a client reads, when it is not the one the contact is served in
-- (Danish or English: routing, the caseworker's answers). What contactd writes to the client
-- itself (confirmation SMS, acknowledgements, surveys) is in this language when the agency
-- serves it; NULL: the contact's language. Chosen by the client (the booking page's
-- language) or read from the script of their message (Arabic, Ukrainian, Turkish, ...).
ALTER TABLE contacts ADD COLUMN client_language text
    CHECK (client_language ~ '^[a-z]{2,3}(_[A-Z]{2})?$');
