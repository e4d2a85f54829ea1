-- Shopify's privacy requests as they were carried out: a customer's data
-- request (its export, the JSON document an admin downloads and hands to
-- the customer), a customer's erasure and the shop's erasure. An erasure
-- keeps only what says it happened (kind, Shopify's customer id, counts):
-- never the erased person's email, name or messages. A later erasure of
-- the same customer deletes their exports too.
CREATE TABLE privacy_requests (
    id                    INTEGER PRIMARY KEY AUTOINCREMENT,
    shop_id               INTEGER NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    kind                  TEXT    NOT NULL,
    customer_external_id  TEXT    NOT NULL DEFAULT '',
    customer_email        TEXT    NOT NULL DEFAULT '',
    request_id            TEXT    NOT NULL DEFAULT '',
    document              TEXT    NOT NULL DEFAULT '',
    summary               TEXT    NOT NULL DEFAULT '',
    received_at           INTEGER NOT NULL,
    downloaded_at         INTEGER
);
CREATE INDEX privacy_requests_recent ON privacy_requests(shop_id, id DESC);
