-- Inbound mail. mail_addresses are the support addresses a shop receives
-- mail at through the built-in SMTP listener, besides its built-in
-- <handle>@<mail domain>: the envelope recipient (RCPT TO) picks the shop.
-- Addresses are stored in lower case, so the unique key makes them unique
-- whatever their case; one address belongs to one shop.
CREATE TABLE mail_addresses (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    shop_id    INTEGER NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    address    TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX mail_addresses_address ON mail_addresses(address);
CREATE INDEX mail_addresses_shop ON mail_addresses(shop_id);

-- imap_mailboxes is how far a shop's IMAP mailbox has been taken in:
-- uid_validity and last_uid as the server numbered its messages (a new
-- UIDVALIDITY means the numbering restarted and the mailbox is read
-- again; intake drops the messages it already has). A message's UID is
-- recorded in the transaction that stores it. last_error is what the
-- server or the network last said when polling failed ('' once it works
-- again), shown on the connection in Settings.
CREATE TABLE imap_mailboxes (
    shop_id      INTEGER NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    mailbox      TEXT NOT NULL,
    uid_validity INTEGER NOT NULL DEFAULT 0,
    last_uid     INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT NOT NULL DEFAULT '',
    error_at     INTEGER,
    polled_at    INTEGER,
    PRIMARY KEY (shop_id, mailbox)
);
