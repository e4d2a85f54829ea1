-- hubdesk:foreign-keys-off
-- A row may only point at a row of its own shop: every reference to a
-- shop's row is a composite (shop_id, <column>) → <parent>(shop_id, id),
-- so a bug that hands one shop's id to another shop's write is refused by
-- the database itself. The parents get a unique key on (shop_id, id) for
-- the references to point at.
--
-- SQLite cannot change a table's constraints in place, so the child tables
-- are rebuilt: new table, copy, drop, rename, then their indexes again
-- (https://www.sqlite.org/lang_altertable.html#otheralter). The migrator
-- runs this file with foreign keys off (the marker above) and checks every
-- foreign key before it commits: a row pointing into another shop fails
-- the check and the migration is rolled back, naming the table. Each
-- rebuilt AUTOINCREMENT table keeps its sequence, so ids of deleted rows
-- are never handed out again.
--
-- ON DELETE SET NULL on a composite key would null shop_id too (NOT NULL:
-- the parent's delete would fail), and SQLite cannot name the column to
-- null. Those references therefore have no action of their own; a BEFORE
-- DELETE trigger on the parent nulls the reference column alone, which is
-- what PostgreSQL's ON DELETE SET NULL (column) does.

CREATE UNIQUE INDEX users_shop_id_key ON users(shop_id, id);
CREATE UNIQUE INDEX customers_shop_id_key ON customers(shop_id, id);

-- orders: customer_id → customers of the same shop.
CREATE TABLE orders_new (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    shop_id             INTEGER NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    external_id         TEXT    NOT NULL,
    customer_id         INTEGER,
    name                TEXT    NOT NULL,
    email               TEXT    NOT NULL DEFAULT '',
    financial_status    TEXT    NOT NULL DEFAULT '',
    fulfillment_status  TEXT    NOT NULL DEFAULT '',
    currency            TEXT    NOT NULL,
    subtotal_minor      INTEGER NOT NULL DEFAULT 0,
    shipping_minor      INTEGER NOT NULL DEFAULT 0,
    tax_minor           INTEGER NOT NULL DEFAULT 0,
    total_minor         INTEGER NOT NULL DEFAULT 0,
    ship_name           TEXT    NOT NULL DEFAULT '',
    ship_address1       TEXT    NOT NULL DEFAULT '',
    ship_address2       TEXT    NOT NULL DEFAULT '',
    ship_city           TEXT    NOT NULL DEFAULT '',
    ship_province       TEXT    NOT NULL DEFAULT '',
    ship_zip            TEXT    NOT NULL DEFAULT '',
    ship_country_code   TEXT    NOT NULL DEFAULT '',
    ship_phone          TEXT    NOT NULL DEFAULT '',
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    cancelled_at        INTEGER,
    UNIQUE (shop_id, external_id),
    CONSTRAINT orders_customer_id_fkey FOREIGN KEY (shop_id, customer_id) REFERENCES customers(shop_id, id)
);
INSERT INTO orders_new SELECT * FROM orders;
DELETE FROM sqlite_sequence WHERE name = 'orders_new';
INSERT INTO sqlite_sequence (name, seq) SELECT 'orders_new', seq FROM sqlite_sequence WHERE name = 'orders';
DROP TABLE orders;
ALTER TABLE orders_new RENAME TO orders;
CREATE INDEX orders_customer ON orders(shop_id, customer_id, created_at DESC, id DESC);
CREATE INDEX orders_recent ON orders(shop_id, created_at DESC, id DESC);
CREATE INDEX orders_name ON orders(shop_id, name);
CREATE UNIQUE INDEX orders_shop_id_key ON orders(shop_id, id);

-- line_items: order_id → orders of the same shop; shop_id → shops, which
-- it lacked.
CREATE TABLE line_items_new (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    shop_id             INTEGER NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    order_id            INTEGER NOT NULL,
    position            INTEGER NOT NULL,
    external_id         TEXT    NOT NULL DEFAULT '',
    variant_id          TEXT    NOT NULL DEFAULT '',
    variant_available   INTEGER NOT NULL DEFAULT 1,
    sku                 TEXT    NOT NULL DEFAULT '',
    title               TEXT    NOT NULL,
    variant_title       TEXT    NOT NULL DEFAULT '',
    quantity            INTEGER NOT NULL,
    current_quantity    INTEGER NOT NULL,
    price_minor         INTEGER NOT NULL DEFAULT 0,
    image_url           TEXT    NOT NULL DEFAULT '',
    CONSTRAINT line_items_order_id_fkey FOREIGN KEY (shop_id, order_id) REFERENCES orders(shop_id, id) ON DELETE CASCADE
);
INSERT INTO line_items_new SELECT * FROM line_items;
DELETE FROM sqlite_sequence WHERE name = 'line_items_new';
INSERT INTO sqlite_sequence (name, seq) SELECT 'line_items_new', seq FROM sqlite_sequence WHERE name = 'line_items';
DROP TABLE line_items;
ALTER TABLE line_items_new RENAME TO line_items;
CREATE INDEX line_items_order ON line_items(order_id, position);

-- fulfillments: order_id → orders of the same shop; shop_id → shops.
CREATE TABLE fulfillments_new (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    shop_id             INTEGER NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    order_id            INTEGER NOT NULL,
    external_id         TEXT    NOT NULL,
    status              TEXT    NOT NULL DEFAULT 'success',
    shipment_status     TEXT    NOT NULL DEFAULT '',
    carrier             TEXT    NOT NULL DEFAULT '',
    tracking_number     TEXT    NOT NULL DEFAULT '',
    tracking_url        TEXT    NOT NULL DEFAULT '',
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    in_transit_at       INTEGER,
    delivered_at        INTEGER,
    estimated_delivery_at INTEGER,
    UNIQUE (order_id, external_id),
    CONSTRAINT fulfillments_order_id_fkey FOREIGN KEY (shop_id, order_id) REFERENCES orders(shop_id, id) ON DELETE CASCADE
);
INSERT INTO fulfillments_new SELECT * FROM fulfillments;
DELETE FROM sqlite_sequence WHERE name = 'fulfillments_new';
INSERT INTO sqlite_sequence (name, seq) SELECT 'fulfillments_new', seq FROM sqlite_sequence WHERE name = 'fulfillments';
DROP TABLE fulfillments;
ALTER TABLE fulfillments_new RENAME TO fulfillments;

-- returns: order_id → orders of the same shop (nulled by orders_unlink).
CREATE TABLE returns_new (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    shop_id             INTEGER NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    provider            TEXT    NOT NULL,
    external_id         TEXT    NOT NULL,
    order_name          TEXT    NOT NULL,
    order_external_id   TEXT    NOT NULL DEFAULT '',
    state               TEXT    NOT NULL,
    outcome             TEXT    NOT NULL DEFAULT '',
    carrier             TEXT    NOT NULL DEFAULT '',
    tracking_number     TEXT    NOT NULL DEFAULT '',
    label_status        TEXT    NOT NULL DEFAULT '',
    label_url           TEXT    NOT NULL DEFAULT '',
    status_page_url     TEXT    NOT NULL DEFAULT '',
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    synced_at           INTEGER NOT NULL,
    order_id            INTEGER,
    UNIQUE (shop_id, provider, external_id),
    CONSTRAINT returns_order_id_fkey FOREIGN KEY (shop_id, order_id) REFERENCES orders(shop_id, id)
);
INSERT INTO returns_new SELECT * FROM returns;
DELETE FROM sqlite_sequence WHERE name = 'returns_new';
INSERT INTO sqlite_sequence (name, seq) SELECT 'returns_new', seq FROM sqlite_sequence WHERE name = 'returns';
DROP TABLE returns;
ALTER TABLE returns_new RENAME TO returns;
CREATE INDEX returns_order_id ON returns(shop_id, order_id);
CREATE INDEX returns_waiting ON returns(shop_id, order_external_id) WHERE order_id IS NULL;

-- tickets: customer_id, order_id and assignee_id → rows of the same shop
-- (each nulled by its parent's trigger).
CREATE TABLE tickets_new (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    shop_id             INTEGER NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    customer_id         INTEGER,
    order_id            INTEGER,
    requester_email     TEXT    NOT NULL DEFAULT '',
    requester_name      TEXT    NOT NULL DEFAULT '',
    subject             TEXT    NOT NULL,
    status              TEXT    NOT NULL DEFAULT 'open' CHECK (status IN ('open','pending','closed')),
    channel             TEXT    NOT NULL,
    assignee_id         INTEGER,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    last_activity_at    INTEGER NOT NULL,
    closed_at           INTEGER,
    CONSTRAINT tickets_customer_id_fkey FOREIGN KEY (shop_id, customer_id) REFERENCES customers(shop_id, id),
    CONSTRAINT tickets_order_id_fkey FOREIGN KEY (shop_id, order_id) REFERENCES orders(shop_id, id),
    CONSTRAINT tickets_assignee_id_fkey FOREIGN KEY (shop_id, assignee_id) REFERENCES users(shop_id, id)
);
INSERT INTO tickets_new SELECT * FROM tickets;
DELETE FROM sqlite_sequence WHERE name = 'tickets_new';
INSERT INTO sqlite_sequence (name, seq) SELECT 'tickets_new', seq FROM sqlite_sequence WHERE name = 'tickets';
DROP TABLE tickets;
ALTER TABLE tickets_new RENAME TO tickets;
CREATE INDEX tickets_inbox ON tickets(shop_id, last_activity_at DESC, id DESC);
CREATE INDEX tickets_status ON tickets(shop_id, status, last_activity_at DESC, id DESC);
CREATE INDEX tickets_customer ON tickets(shop_id, customer_id);
CREATE INDEX tickets_channel_created ON tickets(shop_id, channel, created_at);
CREATE UNIQUE INDEX tickets_shop_id_key ON tickets(shop_id, id);

-- ticket_messages: ticket_id → tickets and author_user_id → users of the
-- same shop (the author nulled by users_unlink: the message stays).
CREATE TABLE ticket_messages_new (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    shop_id             INTEGER NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    ticket_id           INTEGER NOT NULL,
    kind                TEXT    NOT NULL DEFAULT 'message' CHECK (kind IN ('message','note')),
    author_kind         TEXT    NOT NULL CHECK (author_kind IN ('customer','agent','system')),
    author_user_id      INTEGER,
    author_name         TEXT    NOT NULL DEFAULT '',
    body                TEXT    NOT NULL,
    created_at          INTEGER NOT NULL,
    CONSTRAINT ticket_messages_ticket_id_fkey FOREIGN KEY (shop_id, ticket_id) REFERENCES tickets(shop_id, id) ON DELETE CASCADE,
    CONSTRAINT ticket_messages_author_user_id_fkey FOREIGN KEY (shop_id, author_user_id) REFERENCES users(shop_id, id)
);
INSERT INTO ticket_messages_new SELECT * FROM ticket_messages;
DELETE FROM sqlite_sequence WHERE name = 'ticket_messages_new';
INSERT INTO sqlite_sequence (name, seq) SELECT 'ticket_messages_new', seq FROM sqlite_sequence WHERE name = 'ticket_messages';
DROP TABLE ticket_messages;
ALTER TABLE ticket_messages_new RENAME TO ticket_messages;
CREATE INDEX ticket_messages_ticket ON ticket_messages(ticket_id, created_at, id);

-- sessions: user_id → users of the same shop.
CREATE TABLE sessions_new (
    token_hash          TEXT    PRIMARY KEY,
    user_id             INTEGER NOT NULL,
    shop_id             INTEGER NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    created_at          INTEGER NOT NULL,
    expires_at          INTEGER NOT NULL,
    CONSTRAINT sessions_user_id_fkey FOREIGN KEY (shop_id, user_id) REFERENCES users(shop_id, id) ON DELETE CASCADE
);
INSERT INTO sessions_new SELECT * FROM sessions;
DROP TABLE sessions;
ALTER TABLE sessions_new RENAME TO sessions;
CREATE INDEX sessions_expiry ON sessions(expires_at);

-- api_tokens: user_id → users of the same shop.
CREATE TABLE api_tokens_new (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    shop_id             INTEGER NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    user_id             INTEGER NOT NULL,
    name                TEXT    NOT NULL DEFAULT '',
    token_hash          TEXT    NOT NULL UNIQUE,
    created_at          INTEGER NOT NULL,
    last_used_at        INTEGER,
    CONSTRAINT api_tokens_user_id_fkey FOREIGN KEY (shop_id, user_id) REFERENCES users(shop_id, id) ON DELETE CASCADE
);
INSERT INTO api_tokens_new SELECT * FROM api_tokens;
DELETE FROM sqlite_sequence WHERE name = 'api_tokens_new';
INSERT INTO sqlite_sequence (name, seq) SELECT 'api_tokens_new', seq FROM sqlite_sequence WHERE name = 'api_tokens';
DROP TABLE api_tokens;
ALTER TABLE api_tokens_new RENAME TO api_tokens;
CREATE INDEX api_tokens_shop_user ON api_tokens(shop_id, user_id);

-- ON DELETE SET NULL (column), as SQLite can: deleting a parent nulls the
-- references to it and nothing else of the rows holding them.
CREATE TRIGGER customers_unlink BEFORE DELETE ON customers
BEGIN
    UPDATE orders SET customer_id = NULL WHERE shop_id = OLD.shop_id AND customer_id = OLD.id;
    UPDATE tickets SET customer_id = NULL WHERE shop_id = OLD.shop_id AND customer_id = OLD.id;
END;

CREATE TRIGGER orders_unlink BEFORE DELETE ON orders
BEGIN
    UPDATE returns SET order_id = NULL WHERE shop_id = OLD.shop_id AND order_id = OLD.id;
    UPDATE tickets SET order_id = NULL WHERE shop_id = OLD.shop_id AND order_id = OLD.id;
END;

CREATE TRIGGER users_unlink BEFORE DELETE ON users
BEGIN
    UPDATE tickets SET assignee_id = NULL WHERE shop_id = OLD.shop_id AND assignee_id = OLD.id;
    UPDATE ticket_messages SET author_user_id = NULL WHERE shop_id = OLD.shop_id AND author_user_id = OLD.id;
END;
