-- Helpdesk tickets. A ticket is one conversation with a shopper, linked to
-- the customer and (when it is about one) the order; channel says where it
-- started (hub, email, api). last_activity_at orders the inbox, so it is
-- kept on the ticket rather than computed from messages on every page.
CREATE TABLE tickets (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    shop_id             INTEGER NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    customer_id         INTEGER REFERENCES customers(id) ON DELETE SET NULL,
    order_id            INTEGER REFERENCES orders(id) ON DELETE SET NULL,
    requester_email     TEXT    NOT NULL DEFAULT '',
    requester_name      TEXT    NOT NULL DEFAULT '',
    subject             TEXT    NOT NULL,
    status              TEXT    NOT NULL DEFAULT 'open' CHECK (status IN ('open','pending','closed')),
    channel             TEXT    NOT NULL,
    assignee_id         INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    last_activity_at    INTEGER NOT NULL,
    closed_at           INTEGER
);
CREATE INDEX tickets_inbox ON tickets(shop_id, last_activity_at DESC, id DESC);
CREATE INDEX tickets_status ON tickets(shop_id, status, last_activity_at DESC, id DESC);
CREATE INDEX tickets_customer ON tickets(shop_id, customer_id);

-- The conversation. author_kind is customer, agent or system; kind is
-- message (seen by the shopper) or note (staff only).
CREATE TABLE ticket_messages (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    shop_id             INTEGER NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    ticket_id           INTEGER NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    kind                TEXT    NOT NULL DEFAULT 'message' CHECK (kind IN ('message','note')),
    author_kind         TEXT    NOT NULL CHECK (author_kind IN ('customer','agent','system')),
    author_user_id      INTEGER REFERENCES users(id) ON DELETE SET NULL,
    author_name         TEXT    NOT NULL DEFAULT '',
    body                TEXT    NOT NULL,
    created_at          INTEGER NOT NULL
);
CREATE INDEX ticket_messages_ticket ON ticket_messages(ticket_id, created_at, id);
