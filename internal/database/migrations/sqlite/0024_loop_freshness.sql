-- Loop freshness. A stored return keeps what agents need from Loop beyond
-- its state: the returned items (JSON array of {title, variant, quantity,
-- reason}), the carrier's tracking URL, when Loop last changed the label
-- (label events are ordered by it, apart from the return's own version),
-- Loop's message when processing failed and the return's version (its
-- updated_at) at that moment, so that only a newer version clears it,
-- and whether it waits unattached because its order's name matched more
-- than one order (never guessed).
ALTER TABLE returns ADD COLUMN line_items TEXT NOT NULL DEFAULT '[]';
ALTER TABLE returns ADD COLUMN tracking_url TEXT NOT NULL DEFAULT '';
ALTER TABLE returns ADD COLUMN label_updated_at INTEGER;
ALTER TABLE returns ADD COLUMN processing_error TEXT NOT NULL DEFAULT '';
ALTER TABLE returns ADD COLUMN processing_failed_version INTEGER;
ALTER TABLE returns ADD COLUMN order_ambiguous INTEGER NOT NULL DEFAULT 0;

-- One row per shop connected to Loop: the reconciliation watermark (Loop's
-- updated_at of the newest return seen by the returns list), when the last
-- webhook arrived (how fresh stored returns may be assumed), and the health
-- of the last call, for the notice on order cards.
CREATE TABLE loop_sync (
    shop_id          INTEGER PRIMARY KEY REFERENCES shops(id) ON DELETE CASCADE,
    watermark        INTEGER,
    last_webhook_at  INTEGER,
    last_ok_at       INTEGER,
    last_error_at    INTEGER,
    last_error_kind  TEXT    NOT NULL DEFAULT '',
    updated_at       INTEGER NOT NULL
);

-- Webhook subscriptions to remove from Loop with a key no longer in use:
-- the old key (sealed) stays here only until the removal job has run.
CREATE TABLE loop_subscription_cleanups (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    shop_id      INTEGER NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    credentials  TEXT    NOT NULL,
    url          TEXT    NOT NULL,
    created_at   INTEGER NOT NULL
);
CREATE INDEX loop_subscription_cleanups_shop ON loop_subscription_cleanups(shop_id);

-- When each order's returns were last read from Loop (the refresh on
-- ticket open): an order without returns has no stored row to date it.
CREATE TABLE loop_order_checks (
    shop_id     INTEGER NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    order_id    INTEGER NOT NULL,
    checked_at  INTEGER NOT NULL,
    PRIMARY KEY (shop_id, order_id)
);
