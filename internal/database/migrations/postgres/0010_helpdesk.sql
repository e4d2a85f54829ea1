-- The helpdesk: what agents need to work tickets.
--
-- New tables reference their parents by (shop_id, id), so a row can never
-- point into another shop; the parents' keys are created here when an
-- earlier migration has not made them yet.
CREATE UNIQUE INDEX IF NOT EXISTS users_shop_id_key ON users(shop_id, id);
CREATE UNIQUE INDEX IF NOT EXISTS tickets_shop_id_key ON tickets(shop_id, id);
CREATE UNIQUE INDEX IF NOT EXISTS ticket_messages_shop_id_key ON ticket_messages(shop_id, id);

-- first_response_at: the first agent reply, for first-response times.
-- waiting_since: when the shopper's oldest unanswered message arrived
-- (NULL once the shop has answered), for the inbox's "longest waiting".
-- preview: the start of the latest message, so the inbox needs no join.
-- spam_at: marked as spam (kept, out of the inbox). merged_into_id: the
-- ticket this one was merged into (same shop, checked by the store: a
-- column added to an existing table cannot carry a two-column reference).
ALTER TABLE tickets ADD COLUMN first_response_at BIGINT;
ALTER TABLE tickets ADD COLUMN waiting_since BIGINT;
ALTER TABLE tickets ADD COLUMN preview TEXT NOT NULL DEFAULT '';
ALTER TABLE tickets ADD COLUMN spam_at BIGINT;
ALTER TABLE tickets ADD COLUMN merged_into_id BIGINT;

UPDATE tickets SET
    waiting_since = CASE WHEN status = 'open' THEN created_at END,
    preview = COALESCE((SELECT substr(m.body, 1, 200) FROM ticket_messages m
                        WHERE m.shop_id = tickets.shop_id AND m.ticket_id = tickets.id AND m.kind = 'message'
                        ORDER BY m.created_at DESC, m.id DESC LIMIT 1), '');

CREATE INDEX tickets_assignee ON tickets(shop_id, assignee_id, last_activity_at DESC, id DESC);
CREATE INDEX tickets_waiting ON tickets(shop_id, status, waiting_since, id);

-- Tags label tickets; a shop's tag names are unique.
CREATE TABLE tags (
    id                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    shop_id             BIGINT  NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    name                TEXT    NOT NULL,
    created_at          BIGINT  NOT NULL,
    UNIQUE (shop_id, name)
);
CREATE UNIQUE INDEX tags_shop_id_key ON tags(shop_id, id);

CREATE TABLE ticket_tags (
    shop_id             BIGINT  NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    ticket_id           BIGINT  NOT NULL,
    tag_id              BIGINT  NOT NULL,
    PRIMARY KEY (ticket_id, tag_id),
    FOREIGN KEY (shop_id, ticket_id) REFERENCES tickets(shop_id, id) ON DELETE CASCADE,
    FOREIGN KEY (shop_id, tag_id) REFERENCES tags(shop_id, id) ON DELETE CASCADE
);
CREATE INDEX ticket_tags_tag ON ticket_tags(shop_id, tag_id, ticket_id);

-- Macros are saved replies managers maintain; body may hold placeholders.
CREATE TABLE macros (
    id                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    shop_id             BIGINT  NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    name                TEXT    NOT NULL,
    body                TEXT    NOT NULL,
    created_at          BIGINT  NOT NULL,
    updated_at          BIGINT  NOT NULL,
    UNIQUE (shop_id, name)
);

-- Attachments live in the database so any process can serve them.
CREATE TABLE attachments (
    id                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    shop_id             BIGINT  NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    ticket_id           BIGINT  NOT NULL,
    message_id          BIGINT  NOT NULL,
    filename            TEXT    NOT NULL,
    content_type        TEXT    NOT NULL,
    size_bytes          BIGINT  NOT NULL,
    sha256              TEXT    NOT NULL,
    data                BYTEA   NOT NULL,
    created_at          BIGINT  NOT NULL,
    FOREIGN KEY (shop_id, ticket_id) REFERENCES tickets(shop_id, id) ON DELETE CASCADE,
    FOREIGN KEY (shop_id, message_id) REFERENCES ticket_messages(shop_id, id) ON DELETE CASCADE
);
CREATE INDEX attachments_message ON attachments(shop_id, message_id);
CREATE INDEX attachments_ticket ON attachments(shop_id, ticket_id);

-- When each agent last read each ticket, for unread markers.
CREATE TABLE ticket_reads (
    shop_id             BIGINT  NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    user_id             BIGINT  NOT NULL,
    ticket_id           BIGINT  NOT NULL,
    read_at             BIGINT  NOT NULL,
    PRIMARY KEY (user_id, ticket_id),
    FOREIGN KEY (shop_id, user_id) REFERENCES users(shop_id, id) ON DELETE CASCADE,
    FOREIGN KEY (shop_id, ticket_id) REFERENCES tickets(shop_id, id) ON DELETE CASCADE
);

-- Senders whose mail and hub messages are refused.
CREATE TABLE blocked_senders (
    shop_id             BIGINT  NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    email               TEXT    NOT NULL,
    created_at          BIGINT  NOT NULL,
    PRIMARY KEY (shop_id, email)
);

-- What an agent is told in the desk: a ticket assigned to them, a reply
-- on their ticket.
CREATE TABLE desk_notifications (
    id                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    shop_id             BIGINT  NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    user_id             BIGINT  NOT NULL,
    ticket_id           BIGINT  NOT NULL,
    kind                TEXT    NOT NULL CHECK (kind IN ('assigned','reply')),
    created_at          BIGINT  NOT NULL,
    read_at             BIGINT,
    FOREIGN KEY (shop_id, user_id) REFERENCES users(shop_id, id) ON DELETE CASCADE,
    FOREIGN KEY (shop_id, ticket_id) REFERENCES tickets(shop_id, id) ON DELETE CASCADE
);
CREATE INDEX desk_notifications_user ON desk_notifications(shop_id, user_id, read_at, id DESC);
