-- Mail sent to shoppers for a ticket: an agent's reply (message_id) or the
-- acknowledgement of a new ticket (message_id NULL). A row is written with
-- its send job in the transaction of the reply, so a reply is never mailed
-- without being recorded nor recorded without its mail; the job reads it,
-- sends, and records the outcome here — the delivery the desk and the API
-- show on the message. mail_message_id (without angle brackets) is unique
-- per shop like ticket_messages.mail_message_id, which a reply's also goes
-- into, so the shopper's answer threads; in_reply_to and refs are the
-- threading headers as decided when the reply was written.
CREATE TABLE ticket_mails (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    shop_id             INTEGER  NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    ticket_id           INTEGER  NOT NULL,
    message_id          INTEGER,
    kind                TEXT    NOT NULL CHECK (kind IN ('reply','acknowledgement')),
    recipient           TEXT    NOT NULL,
    lang                TEXT    NOT NULL DEFAULT '',
    mail_message_id     TEXT    NOT NULL,
    in_reply_to         TEXT    NOT NULL DEFAULT '',
    refs                TEXT    NOT NULL DEFAULT '',
    state               TEXT    NOT NULL DEFAULT 'queued' CHECK (state IN ('queued','retrying','sent','failed')),
    attempts            INTEGER  NOT NULL DEFAULT 0,
    last_error          TEXT    NOT NULL DEFAULT '',
    response            TEXT    NOT NULL DEFAULT '',
    created_at          INTEGER  NOT NULL,
    updated_at          INTEGER  NOT NULL,
    sent_at             INTEGER,
    FOREIGN KEY (shop_id, ticket_id) REFERENCES tickets(shop_id, id) ON DELETE CASCADE,
    FOREIGN KEY (shop_id, message_id) REFERENCES ticket_messages(shop_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX ticket_mails_mail_message_id ON ticket_mails(shop_id, mail_message_id);
CREATE INDEX ticket_mails_ticket ON ticket_mails(shop_id, ticket_id, id);
-- The acknowledgements' limit per sender looks for the latest one to an
-- address.
CREATE INDEX ticket_mails_recipient ON ticket_mails(shop_id, recipient, kind, created_at);

-- An agent's signature, put under their replies in mail; '' for none.
ALTER TABLE users ADD COLUMN mail_signature TEXT NOT NULL DEFAULT '';
