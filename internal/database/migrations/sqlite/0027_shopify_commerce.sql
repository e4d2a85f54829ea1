-- What Shopify tells that the commerce model lacked.
--
-- Which line items a fulfillment carries, and how many of each (JSON array
-- of {line_item_id, quantity}, the line items' platform ids): partial
-- shipments item by item. Written with the fulfillment, under its
-- newer-wins rule. When the carrier said the parcel was out for delivery
-- (a fulfillment event's happened_at; NULL when no one said when).
ALTER TABLE fulfillments ADD COLUMN line_items TEXT NOT NULL DEFAULT '[]';
ALTER TABLE fulfillments ADD COLUMN out_for_delivery_at INTEGER;

-- The customer's default address.
ALTER TABLE customers ADD COLUMN addr_name TEXT NOT NULL DEFAULT '';
ALTER TABLE customers ADD COLUMN addr_address1 TEXT NOT NULL DEFAULT '';
ALTER TABLE customers ADD COLUMN addr_address2 TEXT NOT NULL DEFAULT '';
ALTER TABLE customers ADD COLUMN addr_city TEXT NOT NULL DEFAULT '';
ALTER TABLE customers ADD COLUMN addr_province TEXT NOT NULL DEFAULT '';
ALTER TABLE customers ADD COLUMN addr_zip TEXT NOT NULL DEFAULT '';
ALTER TABLE customers ADD COLUMN addr_country_code TEXT NOT NULL DEFAULT '';
ALTER TABLE customers ADD COLUMN addr_phone TEXT NOT NULL DEFAULT '';

-- The storefront's domains as Shopify reports them (shop/update, the
-- GraphQL shop query): the primary one and the others, space-separated,
-- lower case; the hub's Origin check allows them beside the ones the
-- merchant lists in General settings. updated_at orders the reports.
ALTER TABLE shops ADD COLUMN primary_domain TEXT NOT NULL DEFAULT '';
ALTER TABLE shops ADD COLUMN storefront_domains TEXT NOT NULL DEFAULT '';
ALTER TABLE shops ADD COLUMN storefront_domains_updated_at INTEGER;

-- Shopify webhooks already applied, by X-Shopify-Webhook-Id and by
-- (topic, X-Shopify-Event-Id): a delivery naming either one again is a
-- duplicate and applies nothing. Kept as long as processed webhook events.
CREATE TABLE shopify_webhook_claims (
    shop_id     INTEGER NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    claim       TEXT    NOT NULL,
    event_row   INTEGER NOT NULL,
    claimed_at  INTEGER NOT NULL,
    PRIMARY KEY (shop_id, claim)
);
CREATE INDEX shopify_webhook_claims_claimed ON shopify_webhook_claims(claimed_at);
