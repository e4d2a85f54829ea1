-- When the shopper last opened each conversation in the hub, so the hub
-- can mark the ones the shop has replied to since. Nullable: existing
-- tickets count as never opened there.
ALTER TABLE tickets ADD COLUMN customer_seen_at BIGINT;
