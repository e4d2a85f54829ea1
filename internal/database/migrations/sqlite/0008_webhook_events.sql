-- Webhooks as they arrived, once per delivery: the intake stores the
-- verified raw body and enqueues its processing in the same transaction,
-- so an acknowledged delivery is never lost and a redelivery (same
-- delivery id) adds nothing. Processed events are purged after the
-- retention (HUBDESK_WEBHOOK_RETENTION).
CREATE TABLE webhook_events (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    shop_id             INTEGER NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    provider            TEXT    NOT NULL,
    topic               TEXT    NOT NULL,
    delivery_id         TEXT    NOT NULL,
    body                TEXT    NOT NULL,
    received_at         INTEGER NOT NULL,
    processed_at        INTEGER,
    error               TEXT    NOT NULL DEFAULT '',
    UNIQUE (shop_id, provider, delivery_id)
);
CREATE INDEX webhook_events_processed ON webhook_events(processed_at);
