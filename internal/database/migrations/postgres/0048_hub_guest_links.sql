-- One-time links that open a single order in the hub for a shopper who
-- checked out without an account: looked up by order number and email,
-- mailed, consumed on first open. token_hash is the SHA-256 of the random
-- token (never the token); times are Unix milliseconds. Rows go with their
-- order (a redacted customer's orders take their links along).
CREATE TABLE hub_guest_links (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    shop_id     BIGINT  NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    order_id    BIGINT  NOT NULL,
    token_hash  TEXT    NOT NULL UNIQUE,
    created_at  BIGINT  NOT NULL,
    expires_at  BIGINT  NOT NULL,
    used_at     BIGINT,
    CONSTRAINT hub_guest_links_order_id_fkey FOREIGN KEY (shop_id, order_id) REFERENCES orders(shop_id, id) ON DELETE CASCADE
);
CREATE INDEX hub_guest_links_order ON hub_guest_links(shop_id, order_id);
CREATE INDEX hub_guest_links_expires ON hub_guest_links(expires_at);
