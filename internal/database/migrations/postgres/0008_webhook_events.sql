-- Webhooks as they arrived, once per delivery: the intake stores the
-- verified raw body and enqueues its processing in the same transaction,
-- so an acknowledged delivery is never lost and a redelivery (same
-- delivery id) adds nothing. Processed events are purged after the
-- retention (HUBDESK_WEBHOOK_RETENTION).
CREATE TABLE webhook_events (
    id                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    shop_id             BIGINT  NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    provider            TEXT    NOT NULL,
    topic               TEXT    NOT NULL,
    delivery_id         TEXT    NOT NULL,
    body                TEXT    NOT NULL,
    received_at         BIGINT  NOT NULL,
    processed_at        BIGINT,
    error               TEXT    NOT NULL DEFAULT '',
    UNIQUE (shop_id, provider, delivery_id)
);
CREATE INDEX webhook_events_processed ON webhook_events(processed_at);
