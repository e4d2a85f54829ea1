-- The health of a shop's Shopify webhook subscriptions as last checked
-- (on connect and by the periodic repair): per topic ok, created,
-- repaired or failed (JSON object), the last error, and when.
CREATE TABLE shopify_subscriptions (
    shop_id     BIGINT PRIMARY KEY REFERENCES shops(id) ON DELETE CASCADE,
    topics      TEXT    NOT NULL DEFAULT '{}',
    last_error  TEXT    NOT NULL DEFAULT '',
    checked_at  BIGINT  NOT NULL
);
